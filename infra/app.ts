import { buildApp } from './app-builder';

// `cdk synth` / `cdk deploy` entry point (cdk.json "app"). A wrong config value
// throws here with the key and what it accepts, and synth fails.
try {
  buildApp().app.synth();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
