/**
 * The CloudTrail table as Athena's CloudTrail SerDe exposes a log file's records:
 * the columns of the table AWS documents ("Create the table for CloudTrail logs in
 * Athena using partition projection"), lower-case, nested objects as structs where
 * their shape is fixed and as JSON text where it is not (requestparameters,
 * responseelements, additionaleventdata), and readOnly as the string 'true'/'false'.
 *
 * One definition feeds both the Glue table (infra/constructs/organization-analytics.ts)
 * and the DuckDB table the equality test loads the same records into, so the SQL is
 * proved against the columns it will meet in Athena.
 */

export type ColumnType =
  | 'string'
  | 'boolean'
  | { readonly struct: readonly Column[] }
  | { readonly array: ColumnType }
  | { readonly map: readonly [ColumnType, ColumnType] };

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

const s = (name: string): Column => ({ name, type: 'string' });
const struct = (name: string, fields: readonly Column[]): Column => ({ name, type: { struct: fields } });

export const CLOUDTRAIL_COLUMNS: readonly Column[] = [
  s('eventversion'),
  struct('useridentity', [
    s('type'),
    s('principalid'),
    s('arn'),
    s('accountid'),
    s('invokedby'),
    s('accesskeyid'),
    s('username'),
    struct('onbehalfof', [s('userid'), s('identitystorearn')]),
    struct('sessioncontext', [
      struct('attributes', [s('mfaauthenticated'), s('creationdate')]),
      struct('sessionissuer', [s('type'), s('principalid'), s('arn'), s('accountid'), s('username')]),
      s('ec2roledelivery'),
      struct('webidfederationdata', [
        s('federatedprovider'),
        { name: 'attributes', type: { map: ['string', 'string'] } },
      ]),
    ]),
  ]),
  s('eventtime'),
  s('eventsource'),
  s('eventname'),
  s('awsregion'),
  s('sourceipaddress'),
  s('useragent'),
  s('errorcode'),
  s('errormessage'),
  s('requestparameters'),
  s('responseelements'),
  s('additionaleventdata'),
  s('requestid'),
  s('eventid'),
  s('readonly'),
  {
    name: 'resources',
    type: { array: { struct: [s('arn'), s('accountid'), s('type')] } },
  },
  s('eventtype'),
  s('apiversion'),
  s('recipientaccountid'),
  s('serviceeventdetails'),
  s('sharedeventid'),
  s('vpcendpointid'),
  s('eventcategory'),
  struct('tlsdetails', [s('tlsversion'), s('ciphersuite'), s('clientprovidedhostheader')]),
];

/**
 * Partition columns, projected from the log file's key
 * (AWSLogs/<org id>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/): `day` is
 * `yyyy/MM/dd`, the day the file was delivered (UTC).
 */
export const PARTITION_COLUMNS = ['account', 'region', 'day'] as const;

/** Hive type syntax, as Glue's StorageDescriptor wants it: `struct<type:string,...>`. */
export function hiveType(type: ColumnType): string {
  if (type === 'string' || type === 'boolean') return type;
  if ('struct' in type) return `struct<${type.struct.map((c) => `${c.name}:${hiveType(c.type)}`).join(',')}>`;
  if ('array' in type) return `array<${hiveType(type.array)}>`;
  return `map<${hiveType(type.map[0])},${hiveType(type.map[1])}>`;
}

/** DuckDB type syntax for the same column (the equality test's table). */
export function duckDbType(type: ColumnType): string {
  if (type === 'string') return 'VARCHAR';
  if (type === 'boolean') return 'BOOLEAN';
  if ('struct' in type)
    return `STRUCT(${type.struct.map((c) => `"${c.name}" ${duckDbType(c.type)}`).join(', ')})`;
  if ('array' in type) return `${duckDbType(type.array)}[]`;
  return `MAP(${duckDbType(type.map[0])}, ${duckDbType(type.map[1])})`;
}
