import { levelCommand } from './kit.ts';

export default levelCommand('take_profit');
