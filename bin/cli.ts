import { Command, CommanderError } from 'commander';
import { registerPlan } from './commands/plan';

/** The `honeytrail` command line. Each command lives in bin/commands/ and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('honeytrail')
    .description('deception and response for AWS: decoys, touch detection, scoring, response')
    .exitOverride()
    .showHelpAfterError();
  registerPlan(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`honeytrail: ${(error as Error).message}\n`);
    return 1;
  }
}
