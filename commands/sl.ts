import { levelCommand } from './kit.ts';

export default levelCommand('stop_loss');
