// Every chat command, one file each. /help lists them in this order.
import type { CommandSpec } from '../src/chat/command.ts';
import help from './help.ts';
import status from './status.ts';
import positions from './positions.ts';
import orders from './orders.ts';
import pnl from './pnl.ts';
import pause from './pause.ts';
import resume from './resume.ts';
import flatten from './flatten.ts';

export const COMMANDS: CommandSpec[] = [help, status, positions, orders, pnl, pause, resume, flatten];
