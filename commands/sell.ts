import { tradeCommand } from './buy.ts';

export default tradeCommand('sell');
