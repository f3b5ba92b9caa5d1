import { levelCommand } from '../src/chat/trade-args.ts';

export default levelCommand('take_profit');
