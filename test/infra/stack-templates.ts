import type { HoneytrailConfigInput } from '../../layers/config/schema';
import type { CfnTemplate, StackTemplate } from '../../layers/drill/template';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';

/** Every stack the app synthesizes for `config` (home and regional), as the drill's resolver reads them. */
export function stackTemplates(config: HoneytrailConfigInput = {}): StackTemplate[] {
  const { app } = synthApp(config);
  return app.synth().stacks.map((stack) => ({
    stackName: stack.stackName,
    id: stack.id,
    account: TEST_ACCOUNT,
    region: stack.environment.region,
    template: stack.template as CfnTemplate,
  }));
}

/** A policy document's statements, whether the document holds one or a list. */
export type PolicyStatement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
};
export type PolicyDocument = { Version?: string; Statement: PolicyStatement | PolicyStatement[] };

export function statementsOf(document: PolicyDocument): PolicyStatement[] {
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

export function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
