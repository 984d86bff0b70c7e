import type { EnvironmentOf, EnvironmentSpec } from '../runtime/env';
import { compileAllowlist } from './allowlist';
import type { TouchSettings } from './touch';

/**
 * The touch function's settings as its deployed environment carries them (set by
 * infra/constructs/event-routing.ts). functions/touch/handler.ts reads them from
 * process.env; the drill reads them from the synthesized template, so both run
 * the touch code with the same settings.
 */
export const TOUCH_SETTINGS_ENVIRONMENT = {
  BUS_NAME: { description: 'the central bus' },
  ROUTE_PREFIX: { description: 'the routing rules name prefix' },
  AUDIT_TRAIL_NAME: {},
  AUDIT_TRAIL_ARN: { pattern: /^arn:aws[a-z-]*:cloudtrail:/ },
  TRUSTED_ROLE_ARNS: {
    optional: true,
    description: 'comma-separated role ARNs whose calls are the platform own',
  },
  WINDOW_MINUTES: { pattern: /^\d+$/ },
  ALLOWED_PRINCIPALS: { optional: true },
  ALLOWED_CIDRS: { optional: true },
} as const satisfies EnvironmentSpec;

export type TouchSettingsEnvironment = EnvironmentOf<typeof TOUCH_SETTINGS_ENVIRONMENT>;

const list = (value: string | undefined) => (value ? value.split(',').filter(Boolean) : []);

/**
 * Maps the environment (already read with readEnvironment) to the touch handler's
 * settings. No decoy is in it, not even the parameters' key: the registry names them.
 */
export function touchSettingsFromEnvironment(env: TouchSettingsEnvironment): {
  settings: TouchSettings;
} {
  return {
    settings: {
      context: {
        trailName: env.AUDIT_TRAIL_NAME,
        trailArn: env.AUDIT_TRAIL_ARN,
        ruleNamePrefix: env.ROUTE_PREFIX,
        busName: env.BUS_NAME,
        trustedRoleArns: list(env.TRUSTED_ROLE_ARNS),
      },
      windowMinutes: Number(env.WINDOW_MINUTES),
      allowlist: compileAllowlist({
        principalArns: list(env.ALLOWED_PRINCIPALS),
        cidrs: list(env.ALLOWED_CIDRS),
      }),
    },
  };
}
