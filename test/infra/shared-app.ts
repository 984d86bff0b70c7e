import { Template } from 'aws-cdk-lib/assertions';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import type { HoneytrailConfigInput } from '../../layers/config/schema';
import { synthApp } from '../helpers/app';

/**
 * One synthesized app per config and test file, for tests that only read it: the
 * app has a stack per covered region (17 by default), and synthesizing it again
 * for every test made the suite slow. Tests that change the app (add a construct,
 * turn cdk-nag on) call synthApp themselves.
 */
export interface SharedApp {
  built: ReturnType<typeof synthApp>;
  /** The main stack's template, from the one synthesis. */
  template: () => Template;
  /** Every stack of the one synthesis. */
  stacks: () => CloudFormationStackArtifact[];
}

const cache = new Map<string, SharedApp>();

export function sharedApp(config: HoneytrailConfigInput = {}): SharedApp {
  const key = JSON.stringify(config);
  const cached = cache.get(key);
  if (cached) return cached;
  const built = synthApp(config);
  let assembly: ReturnType<typeof built.app.synth> | undefined;
  let template: Template | undefined;
  const synth = () => {
    assembly ??= built.app.synth();
    return assembly;
  };
  const shared: SharedApp = {
    built,
    template: () => {
      template ??= Template.fromJSON(synth().getStackArtifact(built.main.artifactId).template);
      return template;
    },
    stacks: () => synth().stacks,
  };
  cache.set(key, shared);
  return shared;
}
