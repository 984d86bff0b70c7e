import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import { registerApprove } from './commands/approve';
import { registerAudit } from './commands/audit';
import { registerCost } from './commands/cost';
import { registerDrill } from './commands/drill';
import { registerLabel } from './commands/label';
import { registerPlan } from './commands/plan';
import { registerReplay } from './commands/replay';
import { registerRevert } from './commands/revert';
import { registerScore } from './commands/score';
import { registerTrain } from './commands/train';

/**
 * The `honeytrail` command line. Each command lives in bin/commands/ and registers
 * itself here. Registration imports nothing heavy: each action loads what it needs
 * with a dynamic import, so `plan` never loads the AWS SDK or the CDK, and the
 * bundle (bin/build.mjs) keeps each command's code in chunks of its own.
 */
export function buildProgram(): Command {
  const program = new Command('honeytrail')
    .description('deception and response for AWS: decoys, touch detection, scoring, response')
    .version(version, '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError();
  registerPlan(program);
  registerReplay(program);
  registerTrain(program);
  registerScore(program);
  registerLabel(program);
  registerAudit(program);
  registerApprove(program);
  registerRevert(program);
  registerDrill(program);
  registerCost(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}

/** Runs `program` on `argv`: 0 on success, else an error on stderr and the exit code. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`honeytrail: ${(error as Error).message}\n`);
    return 1;
  }
}
