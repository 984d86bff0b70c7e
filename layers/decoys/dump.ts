import { ALNUM, type SeededStream, seededStream, UPPER, withoutTells } from './random';

/**
 * The nightly database dump planted in the bucket: a pg_dump (plain format) or a
 * mysqldump of a small shop's database, in the exact layout each tool writes, a
 * few megabytes of worthless generated rows.
 *
 * The data is one deterministic history per plant (`seed`): customers sign up at
 * a rate that grows over the years, place orders, pay for them. A dump taken at
 * `now` holds the part of that history before `now`, so consecutive nights agree
 * (yesterday's rows are all still there, a few have moved on from "paid" to
 * "shipped", a few dozen new ones follow), and ids come from sequences with the
 * gaps that rolled-back inserts leave. Pure: nothing but the arguments decides the
 * output (the caches below only save work).
 */

export interface DumpInput {
  engine: 'postgres' | 'mysql';
  host: string;
  /** Database name. */
  database: string;
  /** Role that owns the tables. */
  owner: string;
  /** Stable for the life of the plant: decides the whole history. */
  seed: string;
  /** The first plant: the database is sized (a few MB) for that day and grows after it. */
  createdAt: Date;
  /** When the dump is taken. */
  now: Date;
}

// --- data -------------------------------------------------------------------------

/** A comma-separated list written as a block of text. */
function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

const FIRST_NAMES = list(`
  Maria, James, Aisha, Tomasz, Elena, Kenji, Priya, Lucas, Ngozi, Sofia, Oliver, Emma, Noah, Olivia,
  Liam, Ava, Mateo, Isabella, Ethan, Mia, Jonas, Lena, Felix, Hannah, Paul, Clara, Louis, Chloe,
  Hugo, Manon, Daan, Sanne, Pablo, Lucia, Marco, Giulia, Jakub, Zuzanna, Erik, Astrid, Sean, Aoife,
  Ryan, Grace, Daniel, Sarah, David, Laura, Michael, Anna, Thomas, Julia, Samuel, Nora, Adam, Alice,
  Leon, Mila, Arjun, Ananya, Rahul, Sneha, Yuki, Haruto, Sakura, Wei, Mei, Omar, Leila, Karim,
  Fatima, Diego, Camila, Gabriel, Beatriz, Rafael, Ines, Victor, Chiara, Jan, Katarzyna, Piotr,
  Magnus, Ingrid, Patrick, Siobhan, Chris, Megan, Ben, Lucy
`);
const LAST_NAMES = list(`
  Okafor, Lindqvist, Moreau, Tanaka, Kowalski, Haddad, Fischer, Silva, Smith, Johnson, Williams,
  Brown, Jones, Garcia, Miller, Davis, Martinez, Wilson, Anderson, Taylor, Thomas, Moore, Martin,
  Jackson, Thompson, White, Harris, Clark, Lewis, Walker, Hall, Allen, Young, King, Wright, Scott,
  Green, Baker, Adams, Nelson, Mueller, Schmidt, Schneider, Weber, Becker, Hoffmann, Koch, Richter,
  Wolf, Neumann, Dubois, Bernard, Durand, Leroy, Girard, Bonnet, Dupont, Lambert, Fontaine, Rousseau,
  de Jong, Jansen, de Vries, van Dijk, Bakker, Visser, Smit, Meijer, Mulder, Bos, Rossi, Russo,
  Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, Nowak, Wojcik, Kaminski,
  Lewandowski, Zielinski, Svensson, Johansson, Karlsson, Nilsson, Eriksson, Murphy, Kelly, Byrne,
  Walsh, Ryan, Sato, Suzuki, Takahashi, Watanabe, Ito, Sharma, Patel, Gupta, Singh, Kumar, Santos,
  Oliveira, Pereira, Costa, Almeida, Lopez, Gonzalez, Rodriguez, Fernandez, Sanchez, Perez, Nguyen,
  Chen, Wang, Kim
`);

interface Country {
  code: string;
  weight: number;
  currency: string;
  /** VAT or sales tax applied to orders, in percent. */
  tax: number;
  /** Mobile numbers: country code, leading digits, digits after them. */
  phone: [string, string, number];
  domains: string[];
}

const COUNTRIES: Country[] = [
  {
    code: 'US',
    weight: 22,
    currency: 'USD',
    tax: 0,
    phone: ['1', '', 10],
    domains: ['yahoo.com', 'aol.com', 'comcast.net'],
  },
  {
    code: 'GB',
    weight: 14,
    currency: 'GBP',
    tax: 20,
    phone: ['44', '7', 9],
    domains: ['btinternet.com', 'yahoo.co.uk', 'sky.com'],
  },
  {
    code: 'DE',
    weight: 14,
    currency: 'EUR',
    tax: 19,
    phone: ['49', '15', 9],
    domains: ['gmx.de', 'web.de', 't-online.de'],
  },
  {
    code: 'FR',
    weight: 10,
    currency: 'EUR',
    tax: 20,
    phone: ['33', '6', 8],
    domains: ['orange.fr', 'free.fr', 'laposte.net'],
  },
  {
    code: 'NL',
    weight: 6,
    currency: 'EUR',
    tax: 21,
    phone: ['31', '6', 8],
    domains: ['ziggo.nl', 'kpnmail.nl', 'xs4all.nl'],
  },
  {
    code: 'ES',
    weight: 6,
    currency: 'EUR',
    tax: 21,
    phone: ['34', '6', 8],
    domains: ['telefonica.net', 'yahoo.es'],
  },
  {
    code: 'IT',
    weight: 5,
    currency: 'EUR',
    tax: 22,
    phone: ['39', '3', 9],
    domains: ['libero.it', 'virgilio.it', 'tiscali.it'],
  },
  {
    code: 'PL',
    weight: 5,
    currency: 'PLN',
    tax: 23,
    phone: ['48', '5', 8],
    domains: ['wp.pl', 'o2.pl', 'interia.pl'],
  },
  {
    code: 'SE',
    weight: 3,
    currency: 'SEK',
    tax: 25,
    phone: ['46', '7', 8],
    domains: ['telia.com', 'bredband.net'],
  },
  { code: 'IE', weight: 3, currency: 'EUR', tax: 23, phone: ['353', '8', 8], domains: ['eircom.net'] },
  {
    code: 'CA',
    weight: 4,
    currency: 'CAD',
    tax: 13,
    phone: ['1', '', 10],
    domains: ['rogers.com', 'shaw.ca', 'sympatico.ca'],
  },
  {
    code: 'AU',
    weight: 3,
    currency: 'AUD',
    tax: 10,
    phone: ['61', '4', 8],
    domains: ['bigpond.com', 'optusnet.com.au'],
  },
  {
    code: 'BR',
    weight: 3,
    currency: 'BRL',
    tax: 0,
    phone: ['55', '119', 8],
    domains: ['uol.com.br', 'bol.com.br', 'terra.com.br'],
  },
  {
    code: 'JP',
    weight: 2,
    currency: 'JPY',
    tax: 10,
    phone: ['81', '90', 8],
    domains: ['yahoo.co.jp', 'docomo.ne.jp'],
  },
];
const COUNTRY_WEIGHT = COUNTRIES.reduce((sum, c) => sum + c.weight, 0);

/** Mail providers everyone uses, most common first (weights in percent of addresses). */
const COMMON_DOMAINS: [string, number][] = [
  ['gmail.com', 44],
  ['outlook.com', 9],
  ['hotmail.com', 8],
  ['icloud.com', 7],
  ['yahoo.com', 4],
  ['proton.me', 2],
  ['live.com', 2],
  ['me.com', 1],
];
/** Business customers' company domains. */
const COMPANY_DOMAINS = list(`
  brightwater.io, northgate-consulting.com, kessler-partner.de, atelier-morel.fr,
  vandermeer-groep.nl, lumenworks.co.uk, harbourside.ie, bluepeak.com, fjordline-design.se,
  studio-rinaldi.it, oakridge-capital.com, tandem-labs.io, kowalczyk-it.pl, sierra-foods.es,
  maplestone.ca
`);

// --- history ----------------------------------------------------------------------

const DAY = 86_400_000;
const MAX_ORDERS = 9;

interface Customer {
  id: number;
  email: string;
  fullName: string;
  country: Country;
  phone: string | null;
  optIn: boolean;
  created: number;
  /** Last edit of the profile, once `created + updateAfter` has passed. */
  updateAfter: number;
}

interface Order {
  customer: Customer;
  created: number;
  subtotalCents: number;
  taxCents: number;
  fate: number;
  paymentDelay: number;
  failedAttempt: boolean;
  id: number;
}

interface Payment {
  id: number;
  order: Order;
  created: number;
  /** A charge that went through (later perhaps refunded), or a declined attempt. */
  kind: 'charge' | 'failed';
  amountCents: number;
  provider: 'stripe' | 'paypal';
  /** Stripe PaymentIntent id or PayPal capture id. */
  reference: string;
}

function pick<T>(stream: SeededStream, items: readonly T[]): T {
  return items[stream.int(items.length)] as T;
}

function weighted<T>(
  stream: SeededStream,
  items: readonly T[],
  weight: (item: T) => number,
  total: number,
): T {
  let roll = stream.next() * total;
  for (const item of items) {
    roll -= weight(item);
    if (roll < 0) return item;
  }
  return items[items.length - 1] as T;
}

/** Standard normal (Box-Muller): two draws, always. */
function normal(stream: SeededStream): number {
  const u = 1 - stream.next();
  const v = stream.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function digits(stream: SeededStream, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(stream.int(10));
  return out;
}

function ascii(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '');
}

function emailOf(stream: SeededStream, first: string, last: string, country: Country): string {
  const f = ascii(first);
  const l = ascii(last);
  const style = stream.int(7);
  const year = String(60 + stream.int(45)).slice(-2);
  const local = [
    `${f}.${l}`,
    `${f}${l}`,
    `${f[0]}${l}`,
    `${f}_${l}`,
    `${f}${year}`,
    `${f}.${l}${year}`,
    `${l}.${f}`,
  ][style] as string;
  const roll = stream.next() * 100;
  let domain: string;
  if (roll < 77) domain = weighted(stream, COMMON_DOMAINS, (d) => d[1], 77)[0];
  else if (roll < 90) domain = pick(stream, country.domains);
  else domain = pick(stream, COMPANY_DOMAINS);
  return `${local}@${domain}`;
}

interface Shape {
  start: number;
  /** Customers at the first plant. */
  customersAtPlant: number;
  /** Growth: customers(t) ~ t^exponent. */
  exponent: number;
}

function shapeOf(seed: string, createdAt: Date): Shape {
  const stream = seededStream(`${seed}:shape`);
  const years = 3 + stream.next() * 3;
  return {
    start: createdAt.getTime() - Math.round(years * 365 * DAY),
    customersAtPlant: 3_600 + stream.int(4_200),
    exponent: 1.15 + stream.next() * 0.25,
  };
}

/** Next id of a sequence: mostly +1, now and then a few lost to rolled-back inserts. */
function nextId(stream: SeededStream, last: number): number {
  const roll = stream.next();
  return last + 1 + (roll < 0.03 ? 1 + stream.int(3) : roll < 0.035 ? 4 + stream.int(20) : 0);
}

interface History {
  customers: Customer[];
  orders: Order[];
  payments: Payment[];
  sequences: { customers: number; orders: number; payments: number };
}

function payment(order: Order, created: number, amountCents: number): Payment {
  return { id: 0, order, created, kind: 'charge', amountCents, provider: 'stripe', reference: '' };
}

/** Everything that happens up to `end`, with ids; what a row looks like at a given time is decided later. */
function fullHistory(seed: string, createdAt: Date, end: number): History {
  const shape = shapeOf(seed, createdAt);
  const span = createdAt.getTime() - shape.start;
  const people = seededStream(`${seed}:customers`);
  const customerIds = seededStream(`${seed}:customer-ids`);
  const customers: Customer[] = [];
  const orders: Order[] = [];
  const emails = new Set<string>();
  let lastCustomerId = 0;
  for (let i = 0; ; i++) {
    // Every customer draws the same number of values, so the history before any
    // date does not depend on the date of the dump.
    const created =
      shape.start + Math.round(span * ((i + people.next()) / shape.customersAtPlant) ** (1 / shape.exponent));
    if (created > end) break;
    const country = weighted(people, COUNTRIES, (c) => c.weight, COUNTRY_WEIGHT);
    const first = pick(people, FIRST_NAMES);
    const last = pick(people, LAST_NAMES);
    let email = emailOf(people, first, last, country);
    const suffix = digits(people, 3);
    if (emails.has(email)) email = email.replace('@', `${suffix}@`);
    if (emails.has(email)) email = email.replace('@', `.${i}@`);
    emails.add(email);
    const hasPhone = people.next() < 0.62;
    const [code, lead, rest] = country.phone;
    const number = `${lead}${String(2 + people.int(8))}${digits(people, rest - 1)}`;
    const optIn = people.next() < 0.34;
    const updateAfter = Math.round(-Math.log(1 - people.next()) * 240 * DAY);
    const orderCount = Math.min(MAX_ORDERS, Math.floor(-Math.log(1 - people.next()) * 2.4));
    lastCustomerId = nextId(customerIds, lastCustomerId);
    const customer: Customer = {
      id: lastCustomerId,
      email,
      fullName: `${first} ${last}`,
      country,
      phone: hasPhone ? `+${code}${number}` : null,
      optIn,
      created,
      updateAfter,
    };
    customers.push(customer);
    let at = created + Math.round(people.next() * 3_600_000);
    for (let j = 0; j < MAX_ORDERS; j++) {
      // Order values are log-normal around a typical basket, in the customer's currency.
      const base = Math.exp(3.7 + 0.85 * normal(people));
      const rate =
        country.currency === 'JPY'
          ? 150
          : country.currency === 'SEK'
            ? 10.5
            : country.currency === 'PLN'
              ? 4.3
              : country.currency === 'BRL'
                ? 5.2
                : 1;
      const grossCents = Math.max(199, Math.round(base * rate * 100));
      const taxCents = Math.round((grossCents * country.tax) / (100 + country.tax));
      const gap = -Math.log(1 - people.next()) * (20 + people.int(160)) * DAY;
      const fate = people.next();
      const paymentDelay = 4_000 + people.int(80_000);
      const failedAttempt = people.next() < 0.05;
      if (j < orderCount && at <= end)
        orders.push({
          customer,
          created: at,
          subtotalCents: grossCents - taxCents,
          taxCents,
          fate,
          paymentDelay,
          failedAttempt,
          id: 0,
        });
      at += Math.round(gap);
    }
  }
  orders.sort((a, b) => a.created - b.created);
  const orderIds = seededStream(`${seed}:order-ids`);
  let lastOrderId = 0;
  for (const order of orders) order.id = lastOrderId = nextId(orderIds, lastOrderId);

  const payments: Payment[] = [];
  for (const order of orders) {
    const amountCents = order.subtotalCents + order.taxCents;
    const paidAt = order.created + order.paymentDelay;
    if (paidAt > end) continue;
    const cancelled = order.fate < CANCELLED;
    if (order.failedAttempt || cancelled)
      payments.push({ ...payment(order, paidAt - 40_000, amountCents), kind: 'failed' });
    if (!cancelled) payments.push(payment(order, paidAt, amountCents));
  }
  payments.sort((a, b) => a.created - b.created);
  const paymentIds = seededStream(`${seed}:payment-ids`);
  let lastPaymentId = 0;
  const refs = seededStream(`${seed}:payment-refs`);
  for (const p of payments) {
    p.id = lastPaymentId = nextId(paymentIds, lastPaymentId);
    if (refs.next() < 0.12) {
      p.provider = 'paypal';
      p.reference = clean(() => randomFrom(refs, 17, `${UPPER}0123456789`), 'capture id');
    } else p.reference = clean(() => `pi_3${randomFrom(refs, 23, ALNUM)}`, 'payment intent');
  }

  return { customers, orders, payments, sequences: { customers: 0, orders: 0, payments: 0 } };
}

/**
 * The history generated once per plant up to a horizon a few days ahead, so the
 * writes of one run (and a warm function's next runs) reuse it: it is the costly part.
 */
let cached: { key: string; horizon: number; history: History } | undefined;

function history(seed: string, createdAt: Date, now: Date): History {
  const end = now.getTime();
  const key = `${seed}|${createdAt.getTime()}`;
  if (!cached || cached.key !== key || cached.horizon < end) {
    const horizon = (Math.floor(end / DAY) + 3) * DAY;
    cached = { key, horizon, history: fullHistory(seed, createdAt, horizon) };
  }
  const full = cached.history;
  const last = <T extends { id: number }>(rows: T[]) => (rows.length ? (rows[rows.length - 1] as T).id : 0);
  const customers = full.customers.filter((c) => c.created <= end);
  const orders = full.orders.filter((o) => o.created <= end);
  const payments = full.payments.filter((p) => p.order.created + p.order.paymentDelay <= end);
  // A sequence's last value is past the last row when the newest inserts rolled back.
  const tail = seededStream(`${seed}:tail:${Math.floor(end / DAY)}`);
  return {
    customers,
    orders,
    payments,
    sequences: {
      customers: last(customers) + (tail.next() < 0.1 ? 1 : 0),
      orders: last(orders) + (tail.next() < 0.2 ? 1 + tail.int(2) : 0),
      payments: Math.max(0, ...payments.slice(-3).map((p) => p.id)) + (tail.next() < 0.15 ? 1 : 0),
    },
  };
}

/** Share of orders cancelled before payment went through. */
const CANCELLED = 0.025;

const ORDER_STATES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'] as const;
type OrderState = (typeof ORDER_STATES)[number];

/** Where an order stands at `end`, and since when. */
function orderStatus(order: Order, end: number): { name: OrderState; since: number } {
  const age = end - order.created;
  const paidAt = order.created + order.paymentDelay;
  if (order.fate < CANCELLED) return { name: 'cancelled', since: Math.min(end, order.created + 3_600_000) };
  if (age < order.paymentDelay) return { name: 'pending', since: order.created };
  const shippedAt = paidAt + Math.round(DAY * (0.4 + order.fate * 1.5));
  const deliveredAt = shippedAt + Math.round(DAY * (1.5 + order.fate * 4));
  if (order.fate < 0.055 && end >= deliveredAt + 5 * DAY)
    return { name: 'refunded', since: deliveredAt + 5 * DAY };
  if (end >= deliveredAt) return { name: 'delivered', since: deliveredAt };
  if (end >= shippedAt) return { name: 'shipped', since: shippedAt };
  return { name: 'paid', since: paidAt };
}

// --- tables -----------------------------------------------------------------------

type Kind = 'id' | 'int' | 'money' | 'text' | 'bool' | 'time';

interface Column {
  name: string;
  kind: Kind;
  pg: string;
  mysql: string;
}

/** Cells as pg_dump's COPY prints them; null is \N. */
type Cell = string | null;

/** A row's cells, and its COPY line once printed. */
interface Row {
  cells: Cell[];
  line?: string;
}

/**
 * Rows kept with the history they print: most rows read the same from one dump
 * to the next, so a run (or a warm function) prints each one once.
 */
const printed = new WeakMap<object, { signature: number; row: Row }>();

function rowOf(entity: object, signature: number, cells: () => Cell[]): Row {
  const hit = printed.get(entity);
  if (hit?.signature === signature) return hit.row;
  const row = { cells: cells() };
  printed.set(entity, { signature, row });
  return row;
}

interface Table {
  name: string;
  columns: Column[];
  rows: Row[];
  /** The serial column's sequence: its name and last value. */
  sequence?: { column: string; last: number; integer: boolean };
  unique?: { name: string; column: string };
  indexes: { name: string; column: string }[];
  foreignKeys: { name: string; column: string; table: string }[];
}

const TS_DEFAULT = 'timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL';
const MY_TS_DEFAULT = 'datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)';

const dates = new Map<number, string>();

/** `yyyy-mm-dd` of a UTC day number, cached: a dump prints a few hundred thousand timestamps. */
function dateOf(day: number): string {
  let date = dates.get(day);
  if (date === undefined) {
    date = new Date(day * DAY).toISOString().slice(0, 10);
    if (dates.size > 20_000) dates.clear();
    dates.set(day, date);
  }
  return date;
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** timestamptz as PostgreSQL prints it in UTC: microseconds, trailing zeros dropped. */
function pgTime(ms: number, micros: number): string {
  const day = Math.floor(ms / DAY);
  let rest = ms - day * DAY;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const clock = `${two(Math.floor(rest / 3600))}:${two(Math.floor(rest / 60) % 60)}:${two(rest % 60)}`;
  const fraction = String(millis * 1000 + micros)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${dateOf(day)} ${clock}${fraction ? `.${fraction}` : ''}+00`;
}

function money(cents: number): string {
  return (cents / 100).toFixed(2);
}

/** A cheap 32-bit mix, so a row's sub-millisecond digits depend on the row alone, not on its position. */
function mix(value: number, salt: number): number {
  let h = Math.imul((value % 2_147_483_647) ^ salt, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function tables(data: History, seed: string, createdAt: Date, end: number): Table[] {
  const salt = seededStream(`${seed}:micros`).int(2 ** 31);
  const time = (ms: number) => pgTime(ms, mix(ms, salt) % 1000);
  const customers: Table = {
    name: 'customers',
    columns: [
      { name: 'id', kind: 'id', pg: 'bigint NOT NULL', mysql: 'bigint unsigned NOT NULL AUTO_INCREMENT' },
      { name: 'email', kind: 'text', pg: 'character varying(320) NOT NULL', mysql: 'varchar(320) NOT NULL' },
      {
        name: 'full_name',
        kind: 'text',
        pg: 'character varying(255) NOT NULL',
        mysql: 'varchar(255) NOT NULL',
      },
      { name: 'country', kind: 'text', pg: 'character varying(2) NOT NULL', mysql: 'varchar(2) NOT NULL' },
      { name: 'phone', kind: 'text', pg: 'character varying(32)', mysql: 'varchar(32) DEFAULT NULL' },
      {
        name: 'marketing_opt_in',
        kind: 'bool',
        pg: 'boolean DEFAULT false NOT NULL',
        mysql: "tinyint(1) NOT NULL DEFAULT '0'",
      },
      { name: 'created_at', kind: 'time', pg: TS_DEFAULT, mysql: MY_TS_DEFAULT },
      { name: 'updated_at', kind: 'time', pg: TS_DEFAULT, mysql: MY_TS_DEFAULT },
    ],
    rows: data.customers.map((c) => {
      const updated = c.created + c.updateAfter <= end ? c.created + c.updateAfter : c.created;
      return rowOf(c, updated, () => [
        String(c.id),
        c.email,
        c.fullName,
        c.country.code,
        c.phone,
        c.optIn ? 't' : 'f',
        time(c.created),
        time(updated),
      ]);
    }),
    sequence: { column: 'id', last: data.sequences.customers, integer: false },
    unique: { name: 'customers_email_unique', column: 'email' },
    indexes: [],
    foreignKeys: [],
  };
  const orders: Table = {
    name: 'orders',
    columns: [
      { name: 'id', kind: 'id', pg: 'bigint NOT NULL', mysql: 'bigint unsigned NOT NULL AUTO_INCREMENT' },
      { name: 'customer_id', kind: 'int', pg: 'bigint NOT NULL', mysql: 'bigint unsigned NOT NULL' },
      {
        name: 'status',
        kind: 'text',
        pg: "character varying(16) DEFAULT 'pending'::character varying NOT NULL",
        mysql: "varchar(16) NOT NULL DEFAULT 'pending'",
      },
      { name: 'currency', kind: 'text', pg: 'character varying(3) NOT NULL', mysql: 'varchar(3) NOT NULL' },
      { name: 'subtotal', kind: 'money', pg: 'numeric(12,2) NOT NULL', mysql: 'decimal(12,2) NOT NULL' },
      {
        name: 'tax',
        kind: 'money',
        pg: "numeric(12,2) DEFAULT '0'::numeric NOT NULL",
        mysql: "decimal(12,2) NOT NULL DEFAULT '0.00'",
      },
      { name: 'total', kind: 'money', pg: 'numeric(12,2) NOT NULL', mysql: 'decimal(12,2) NOT NULL' },
      { name: 'created_at', kind: 'time', pg: TS_DEFAULT, mysql: MY_TS_DEFAULT },
      { name: 'updated_at', kind: 'time', pg: TS_DEFAULT, mysql: MY_TS_DEFAULT },
    ],
    rows: data.orders.map((o) => {
      const status = orderStatus(o, end);
      return rowOf(o, status.since * 8 + ORDER_STATES.indexOf(status.name), () => [
        String(o.id),
        String(o.customer.id),
        status.name,
        o.customer.country.currency,
        money(o.subtotalCents),
        money(o.taxCents),
        money(o.subtotalCents + o.taxCents),
        time(o.created),
        time(status.since),
      ]);
    }),
    sequence: { column: 'id', last: data.sequences.orders, integer: false },
    indexes: [
      { name: 'orders_created_at_index', column: 'created_at' },
      { name: 'orders_customer_id_index', column: 'customer_id' },
    ],
    foreignKeys: [{ name: 'orders_customer_id_foreign', column: 'customer_id', table: 'customers' }],
  };
  const payments: Table = {
    name: 'payments',
    columns: [
      { name: 'id', kind: 'id', pg: 'bigint NOT NULL', mysql: 'bigint unsigned NOT NULL AUTO_INCREMENT' },
      { name: 'order_id', kind: 'int', pg: 'bigint NOT NULL', mysql: 'bigint unsigned NOT NULL' },
      { name: 'provider', kind: 'text', pg: 'character varying(32) NOT NULL', mysql: 'varchar(32) NOT NULL' },
      {
        name: 'provider_reference',
        kind: 'text',
        pg: 'character varying(255)',
        mysql: 'varchar(255) DEFAULT NULL',
      },
      { name: 'amount', kind: 'money', pg: 'numeric(12,2) NOT NULL', mysql: 'decimal(12,2) NOT NULL' },
      { name: 'currency', kind: 'text', pg: 'character varying(3) NOT NULL', mysql: 'varchar(3) NOT NULL' },
      { name: 'status', kind: 'text', pg: 'character varying(16) NOT NULL', mysql: 'varchar(16) NOT NULL' },
      { name: 'created_at', kind: 'time', pg: TS_DEFAULT, mysql: MY_TS_DEFAULT },
      { name: 'updated_at', kind: 'time', pg: TS_DEFAULT, mysql: MY_TS_DEFAULT },
    ],
    rows: data.payments.map((p) => {
      const order = orderStatus(p.order, end);
      const status = p.kind === 'failed' ? 'failed' : order.name === 'refunded' ? 'refunded' : 'succeeded';
      return rowOf(p, ['failed', 'succeeded', 'refunded'].indexOf(status), () => [
        String(p.id),
        String(p.order.id),
        p.provider,
        p.reference,
        money(p.amountCents),
        p.order.customer.country.currency,
        status,
        time(p.created),
        time(status === 'refunded' ? order.since : p.created),
      ]);
    }),
    sequence: { column: 'id', last: data.sequences.payments, integer: false },
    indexes: [
      { name: 'payments_order_id_index', column: 'order_id' },
      { name: 'payments_provider_reference_index', column: 'provider_reference' },
    ],
    foreignKeys: [{ name: 'payments_order_id_foreign', column: 'order_id', table: 'orders' }],
  };
  const migrations = migrationRows(seed, createdAt);
  return [
    customers,
    {
      name: 'knex_migrations',
      columns: [
        { name: 'id', kind: 'id', pg: 'integer NOT NULL', mysql: 'int unsigned NOT NULL AUTO_INCREMENT' },
        { name: 'name', kind: 'text', pg: 'character varying(255)', mysql: 'varchar(255) DEFAULT NULL' },
        { name: 'batch', kind: 'int', pg: 'integer', mysql: 'int DEFAULT NULL' },
        {
          name: 'migration_time',
          kind: 'time',
          pg: 'timestamp with time zone',
          mysql: 'timestamp NULL DEFAULT NULL',
        },
      ],
      rows: migrations.map((m, i) => ({ cells: [String(i + 1), m.name, String(m.batch), pgTime(m.at, 0)] })),
      sequence: { column: 'id', last: migrations.length, integer: true },
      indexes: [],
      foreignKeys: [],
    },
    {
      name: 'knex_migrations_lock',
      columns: [
        { name: 'index', kind: 'id', pg: 'integer NOT NULL', mysql: 'int unsigned NOT NULL AUTO_INCREMENT' },
        { name: 'is_locked', kind: 'int', pg: 'integer', mysql: 'int DEFAULT NULL' },
      ],
      rows: [{ cells: ['1', '0'] }],
      sequence: { column: 'index', last: 1, integer: true },
      indexes: [],
      foreignKeys: [],
    },
    orders,
    payments,
  ];
}

/**
 * withoutTells (the hashed stem check of layers/stealth/stems.ts, since this code is
 * deployed and a readable list of marker words would itself be a tell).
 */
function clean(make: () => string, what: string): string {
  return withoutTells(make, what);
}

function randomFrom(stream: SeededStream, length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[stream.int(alphabet.length)];
  return out;
}

/** The migrations that built this schema, applied over the database's life (knex's own table). */
const MIGRATIONS = [
  'create_customers',
  'create_orders',
  'create_payments',
  'add_phone_to_customers',
  'add_tax_to_orders',
  'add_currency_to_payments',
  'add_index_orders_created_at',
  'add_marketing_opt_in_to_customers',
  'add_provider_reference_index_to_payments',
  'widen_customers_email',
];

function migrationRows(seed: string, createdAt: Date): { name: string; batch: number; at: number }[] {
  const stream = seededStream(`${seed}:migrations`);
  const shape = shapeOf(seed, createdAt);
  const span = createdAt.getTime() - shape.start;
  const minutes = (low: number, high: number) => Math.round((low + stream.next() * (high - low)) * 60_000);
  // The first three create the schema in one deploy (batch 1), days before the first customer.
  const firstDeploy = shape.start - DAY * (1 + stream.int(5));
  const stamps = [firstDeploy - minutes(120, 2_880)];
  stamps.unshift((stamps[0] as number) - minutes(10, 1_440));
  stamps.unshift((stamps[0] as number) - minutes(10, 1_440));
  const applied = [firstDeploy, firstDeploy + 40 + stream.int(150), firstDeploy + 230 + stream.int(200)];
  // Later ones, one deploy each, over the database's life before the first plant.
  const later = MIGRATIONS.slice(3)
    .map(() => 0.05 + stream.next() * 0.9)
    .sort((a, b) => a - b);
  for (const fraction of later) {
    const at = shape.start + Math.round(span * fraction);
    stamps.push(at - minutes(60, 7_200));
    applied.push(at);
  }
  return MIGRATIONS.map((name, i) => {
    const stamp = new Date(stamps[i] as number).toISOString().replace(/\D/g, '').slice(0, 14);
    return { name: `${stamp}_${name}.js`, batch: Math.max(1, i - 1), at: applied[i] as number };
  });
}

// --- pg_dump ----------------------------------------------------------------------

/** PostgreSQL 16 minor releases (date of release, minor). Later ones follow the quarterly cadence. */
const PG16_RELEASES: [string, number][] = [
  ['2023-11-09', 1],
  ['2024-02-08', 2],
  ['2024-05-09', 3],
  ['2024-08-08', 4],
  ['2024-11-14', 5],
  ['2024-11-21', 6],
  ['2025-02-13', 7],
  ['2025-02-20', 8],
  ['2025-05-08', 9],
  ['2025-08-14', 10],
  ['2025-11-13', 11],
];

/** The newest PostgreSQL 16 minor released `lagDays` before `now`. */
function pg16Minor(now: Date, lagDays: number): number {
  const at = now.getTime() - lagDays * DAY;
  const last = PG16_RELEASES[PG16_RELEASES.length - 1] as [string, number];
  const lastAt = Date.parse(last[0]);
  if (at >= lastAt) return last[1] + Math.floor((at - lastAt) / (91 * DAY));
  let minor = 1;
  for (const [date, version] of PG16_RELEASES) if (Date.parse(date) <= at) minor = version;
  return minor;
}

/** COPY's text format: backslash, tab, newline and carriage return escaped. */
function copyText(cell: string): string {
  return /[\\\t\n\r]/.test(cell)
    ? cell.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : cell;
}

function pgDump(input: DumpInput, all: Table[]): string {
  const { owner } = input;
  const restrictStream = seededStream(`${input.seed}:restrict:${input.now.getTime()}`);
  const client = pg16Minor(input.now, 20);
  const server = Math.max(1, pg16Minor(input.now, 60 + seededStream(`${input.seed}:server`).int(120)));
  // pg_dump 16.10 and later (Aug 2025) fence the script with a random \restrict key.
  const restrict = client >= 10 ? clean(() => randomFrom(restrictStream, 63, ALNUM), 'restrict key') : '';
  const out: string[] = ['--\n-- PostgreSQL database dump\n--\n\n'];
  if (restrict) out.push(`\\restrict ${restrict}\n\n`);
  out.push(
    `-- Dumped from database version 16.${server}\n-- Dumped by pg_dump version 16.${client}\n\n`,
    'SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n',
    "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n",
    "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\n",
    'SET xmloption = content;\nSET client_min_messages = warning;\nSET row_security = off;\n\n',
    "SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n",
  );
  const entry = (name: string, type: string) =>
    `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: ${owner}\n--\n\n`;
  for (const table of all) {
    const columns = table.columns.map((c) => `    ${c.name} ${c.pg}`).join(',\n');
    out.push(entry(table.name, 'TABLE'), `CREATE TABLE public.${table.name} (\n${columns}\n);\n\n\n`);
    out.push(`ALTER TABLE public.${table.name} OWNER TO ${owner};\n\n`);
    if (table.sequence) {
      const seq = `${table.name}_${table.sequence.column}_seq`;
      out.push(
        entry(seq, 'SEQUENCE'),
        `CREATE SEQUENCE public.${seq}\n${table.sequence.integer ? '    AS integer\n' : ''}`,
        '    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;\n\n\n',
        `ALTER SEQUENCE public.${seq} OWNER TO ${owner};\n\n`,
        entry(seq, 'SEQUENCE OWNED BY'),
        `ALTER SEQUENCE public.${seq} OWNED BY public.${table.name}.${table.sequence.column};\n\n\n`,
      );
    }
  }
  for (const table of all) {
    if (!table.sequence) continue;
    const { column } = table.sequence;
    out.push(
      entry(`${table.name} ${column}`, 'DEFAULT'),
      `ALTER TABLE ONLY public.${table.name} ALTER COLUMN ${column} SET DEFAULT nextval('public.${table.name}_${column}_seq'::regclass);\n\n\n`,
    );
  }
  for (const table of all) {
    out.push(
      `--\n-- Data for Name: ${table.name}; Type: TABLE DATA; Schema: public; Owner: ${owner}\n--\n\n`,
      `COPY public.${table.name} (${table.columns.map((c) => c.name).join(', ')}) FROM stdin;\n`,
    );
    // Only text columns can hold a character COPY escapes; numbers and times are printed safe.
    const text = table.columns.map((c) => c.kind === 'text');
    let block = '';
    for (const row of table.rows) {
      if (row.line === undefined) {
        let line = '';
        row.cells.forEach((cell, i) => {
          const value = cell === null ? '\\N' : text[i] ? copyText(cell) : cell;
          line = i === 0 ? value : `${line}\t${value}`;
        });
        row.line = line;
      }
      block += `${row.line}\n`;
    }
    out.push(block, '\\.\n\n\n');
  }
  for (const table of all) {
    if (!table.sequence) continue;
    const seq = `${table.name}_${table.sequence.column}_seq`;
    out.push(
      entry(seq, 'SEQUENCE SET'),
      `SELECT pg_catalog.setval('public.${seq}', ${table.sequence.last}, true);\n\n\n`,
    );
  }
  const constraints: [string, string, string][] = [];
  for (const table of all) {
    if (table.unique) constraints.push([table.name, table.unique.name, `UNIQUE (${table.unique.column})`]);
    if (table.sequence)
      constraints.push([table.name, `${table.name}_pkey`, `PRIMARY KEY (${table.sequence.column})`]);
  }
  constraints.sort((a, b) => `${a[0]} ${a[1]}`.localeCompare(`${b[0]} ${b[1]}`));
  for (const [table, name, definition] of constraints) {
    out.push(
      entry(`${table} ${name}`, 'CONSTRAINT'),
      `ALTER TABLE ONLY public.${table}\n    ADD CONSTRAINT ${name} ${definition};\n\n\n`,
    );
  }
  const indexes = all
    .flatMap((t) => t.indexes.map((i) => ({ ...i, table: t.name })))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const index of indexes) {
    out.push(
      entry(index.name, 'INDEX'),
      `CREATE INDEX ${index.name} ON public.${index.table} USING btree (${index.column});\n\n\n`,
    );
  }
  for (const table of all) {
    for (const fk of table.foreignKeys) {
      out.push(
        entry(`${table.name} ${fk.name}`, 'FK CONSTRAINT'),
        `ALTER TABLE ONLY public.${table.name}\n    ADD CONSTRAINT ${fk.name} FOREIGN KEY (${fk.column}) REFERENCES public.${fk.table}(id);\n\n\n`,
      );
    }
  }
  out.push('--\n-- PostgreSQL database dump complete\n--\n\n');
  if (restrict) out.push(`\\unrestrict ${restrict}\n\n`);
  return out.join('');
}

// --- mysqldump --------------------------------------------------------------------

/** MySQL 8.0 releases a minor about every quarter: 8.0.36 in January 2024. */
function mysqlMinor(now: Date, lagDays: number): number {
  const at = now.getTime() - lagDays * DAY;
  return Math.min(45, Math.max(30, 36 + Math.floor((at - Date.UTC(2024, 0, 16)) / (91 * DAY))));
}

function mysqlValue(cell: Cell, column: Column): string {
  if (cell === null) return 'NULL';
  switch (column.kind) {
    case 'id':
    case 'int':
    case 'money':
      return cell;
    case 'bool':
      return cell === 't' ? '1' : '0';
    case 'time': {
      // datetime(6) prints every digit; the timestamps here are UTC already.
      const [date, rest] = cell.replace(/\+00$/, '').split(' ') as [string, string];
      const [clock, fraction = ''] = rest.split('.');
      // A plain `timestamp` column (knex's own table) keeps whole seconds.
      if (!column.mysql.startsWith('datetime(6)')) {
        const rounded = new Date(
          Date.parse(`${date}T${clock}.${fraction.slice(0, 3).padEnd(3, '0')}Z`) + 500,
        );
        return `'${rounded.toISOString().slice(0, 19).replace('T', ' ')}'`;
      }
      return `'${date} ${clock}.${fraction.padEnd(6, '0')}'`;
    }
    default:
      return `'${cell.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  }
}

/** mysqldump starts a new INSERT when the statement would pass its net_buffer_length (1 MiB - 1 KiB). */
const NET_BUFFER_LENGTH = 1_046_528;

function mysqlDump(input: DumpInput, all: Table[]): string {
  const client = mysqlMinor(input.now, 30);
  const server = mysqlMinor(input.now, 120 + seededStream(`${input.seed}:server`).int(120));
  const out: string[] = [
    `-- MySQL dump 10.13  Distrib 8.0.${client}, for Linux (x86_64)\n--\n`,
    `-- Host: ${input.host}    Database: ${input.database}\n`,
    '-- ------------------------------------------------------\n',
    `-- Server version\t8.0.${server}\n\n`,
    '/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n',
    '/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n',
    '/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n',
    '/*!50503 SET NAMES utf8mb4 */;\n',
    '/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n',
    "/*!40103 SET TIME_ZONE='+00:00' */;\n",
    '/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n',
    '/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n',
    "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n",
    '/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n',
  ];
  for (const table of all) {
    const q = `\`${table.name}\``;
    const lines = table.columns.map((c) => `  \`${c.name}\` ${c.mysql}`);
    if (table.sequence) lines.push(`  PRIMARY KEY (\`${table.sequence.column}\`)`);
    if (table.unique) lines.push(`  UNIQUE KEY \`${table.unique.name}\` (\`${table.unique.column}\`)`);
    for (const index of table.indexes) lines.push(`  KEY \`${index.name}\` (\`${index.column}\`)`);
    for (const fk of table.foreignKeys)
      lines.push(
        `  CONSTRAINT \`${fk.name}\` FOREIGN KEY (\`${fk.column}\`) REFERENCES \`${fk.table}\` (\`id\`)`,
      );
    const autoIncrement = table.sequence ? ` AUTO_INCREMENT=${table.sequence.last + 1}` : '';
    out.push(
      `\n--\n-- Table structure for table ${q}\n--\n\n`,
      `DROP TABLE IF EXISTS ${q};\n`,
      '/*!40101 SET @saved_cs_client     = @@character_set_client */;\n',
      '/*!50503 SET character_set_client = utf8mb4 */;\n',
      `CREATE TABLE ${q} (\n${lines.join(',\n')}\n) ENGINE=InnoDB${autoIncrement} DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\n`,
      '/*!40101 SET character_set_client = @saved_cs_client */;\n',
      `\n--\n-- Dumping data for table ${q}\n--\n\n`,
      `LOCK TABLES ${q} WRITE;\n`,
      `/*!40000 ALTER TABLE ${q} DISABLE KEYS */;\n`,
    );
    const prefix = `INSERT INTO ${q} VALUES `;
    let statement = '';
    for (const row of table.rows) {
      const tuple = `(${row.cells.map((cell, i) => mysqlValue(cell, table.columns[i] as Column)).join(',')})`;
      if (statement && statement.length + tuple.length + 1 > NET_BUFFER_LENGTH) {
        out.push(`${statement};\n`);
        statement = '';
      }
      statement = statement ? `${statement},${tuple}` : `${prefix}${tuple}`;
    }
    if (statement) out.push(`${statement};\n`);
    out.push(`/*!40000 ALTER TABLE ${q} ENABLE KEYS */;\n`, 'UNLOCK TABLES;\n');
  }
  const d = input.now;
  const pad = (n: number) => String(n).padStart(2, '0');
  const completed = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${String(d.getUTCHours()).padStart(2, ' ')}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  out.push(
    '/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n\n',
    '/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n',
    '/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n',
    '/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n',
    '/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n',
    '/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n',
    '/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n',
    '/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n',
    `-- Dump completed on ${completed}\n`,
  );
  return out.join('');
}

/** The dump of the database as it stands at `input.now`. */
export function databaseDump(input: DumpInput): string {
  const end = input.now.getTime();
  const data = history(input.seed, input.createdAt, input.now);
  const all = tables(data, input.seed, input.createdAt, end);
  return input.engine === 'mysql' ? mysqlDump(input, all) : pgDump(input, all);
}

/**
 * Where a nightly job would keep the dump of `now`'s night:
 * `db/<service>-<env>/<yyyy>/<mm>/<dd>/<database>_<yyyymmdd>T<hhmm>Z.sql`. A
 * listing of these keys over the nights reads as a backup prefix.
 */
export function nightlyDumpKey(service: string, environment: string, database: string, now: Date): string {
  const iso = now.toISOString();
  const [yyyy, mm, dd] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  return `${dumpArchivePrefix(service, environment)}${yyyy}/${mm}/${dd}/${database}_${yyyy}${mm}${dd}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z.sql`;
}

/** The prefix of the dated dumps: the lifecycle rule's filter (content.ts bucketLifecycleRules). */
export function dumpArchivePrefix(service: string, environment: string): string {
  return `db/${service}-${environment}/`;
}

/** How long the dated dumps are kept: a month of nights, a common retention for nightly backups. */
export const DUMP_ARCHIVE_DAYS = 30;
