/**
 * IP address → autonomous system (number and organisation), from the `@ip-location-db/asn` CSV files
 * (`ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization`, inclusive
 * ranges, IPv4 and IPv6; organisation names may be quoted), plus a hosting/datacenter classification.
 *
 * The index is an `IpRangeTable` (sorted typed arrays, binary search) whose values point into a small
 * table of distinct (ASN, organisation) networks; organisation strings are stored once each.
 *
 * Measured on the packaged files (Node 20 via tsx, a shared 2-core VM; 412k IPv4 + 103k IPv6 rows,
 * 91k distinct networks, 81k organisation names): loading takes 0.7-0.9 s at start (reading and
 * decoding the 32 MB of CSV about 0.2 s, parsing and indexing the rest), blocking the event loop
 * meanwhile. The index keeps 9.0 MB of typed arrays plus about 4.5 MB of heap for organisation names;
 * the CSV text (32 MB while loading) is garbage afterwards. Lookups of random public addresses run
 * at about 950,000/s for IPv4 and 320,000-480,000/s for IPv6, address parsing included.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { classifyAddress, parseIpv4, parseIpv6 } from '../net/address.ts';
import { type IpRangeTable, IpRangeTableBuilder } from '../net/ip-ranges.ts';

/** What the ASN data says about an address. */
export interface AsnRecord {
  asn: number;
  org: string;
  /** The network belongs to a hosting/datacenter/cloud provider (see `HOSTING_ASNS`). */
  hosting: boolean;
}

/** What signals need from ASN data: `AsnDatabase`, or a stub in tests. */
export interface AsnLookup {
  /** The AS of a public address; undefined for non-public, malformed or unknown addresses. */
  lookup(ip: string): AsnRecord | undefined;
}

/**
 * Well-known hosting and cloud ASNs (checked against the packaged data's organisation names). Listed
 * by number where the organisation name alone would be wrong: Oracle, Microsoft and Google run
 * corporate and consumer networks under the same name, and Linode announces as "Akamai".
 */
export const HOSTING_ASNS: ReadonlyMap<number, string> = new Map([
  [16509, 'Amazon Web Services'],
  [14618, 'Amazon Web Services'],
  [8987, 'Amazon Web Services (Ireland)'],
  [15169, 'Google'],
  [396982, 'Google Cloud'],
  [19527, 'Google'],
  [8075, 'Microsoft Azure'],
  [31898, 'Oracle Cloud Infrastructure'],
  [14061, 'DigitalOcean'],
  [393406, 'DigitalOcean'],
  [16276, 'OVHcloud'],
  [24940, 'Hetzner'],
  [213230, 'Hetzner Cloud'],
  [63949, 'Linode (Akamai Connected Cloud)'],
  [20473, 'Vultr (The Constant Company, formerly Choopa)'],
  [45102, 'Alibaba Cloud'],
  [37963, 'Alibaba Cloud (China)'],
  [134963, 'Alibaba Cloud (Singapore)'],
  [132203, 'Tencent Cloud'],
  [45090, 'Tencent Cloud (China)'],
  [12876, 'Scaleway'],
  [29447, 'Scaleway'],
  [51167, 'Contabo'],
  [40021, 'Contabo'],
  [141995, 'Contabo'],
  [60781, 'Leaseweb'],
  [28753, 'Leaseweb'],
  [16265, 'Leaseweb'],
  [30633, 'Leaseweb'],
  [9009, 'M247'],
  [62240, 'Clouvider'],
  [212238, 'Datacamp (CDN77)'],
  [60068, 'Datacamp (CDN77)'],
  [53667, 'FranTech (BuyVM)'],
  [8100, 'QuadraNet'],
  [197540, 'netcup'],
  [36352, 'HostPapa (ColoCrossing)'],
]);

/**
 * Organisation names of companies whose whole business is hosting, so every one of their (many, often
 * regional) ASNs counts. Anchored or word-bounded so that e.g. "Amazonas Telecom" or "Getzner" do not
 * match.
 */
export const HOSTING_ORG_PATTERNS: readonly RegExp[] = [
  /^amazon(\.com|\s+data services|\s+technologies|\s+web services)/i,
  /\bdigitalocean\b/i,
  /^hetzner online\b/i,
  /\blinode\b/i,
  /^the constant company\b/i,
  /\b(vultr|choopa)\b/i,
  /^ovh\b/i,
  /^alibaba \(us\) technology|^alibaba cloud\b|\baliyun\b/i,
  /^tencent cloud\b/i,
  /^scaleway\b/i,
  /^contabo\b/i,
  /\bleaseweb\b/i,
  /^m247\b/i,
];

/**
 * ASNs never classed as hosting although their organisation name matches: OVH's consumer broadband
 * (AS35540) is also "OVH SAS".
 */
export const NOT_HOSTING_ASNS: ReadonlySet<number> = new Set([35540]);

/** Operator additions to the hosting classification. */
export interface HostingOptions {
  /** More ASNs to treat as hosting (e.g. a regional VPS provider seen in attacks). */
  hostingAsns?: readonly number[];
  /** ASNs never treated as hosting (wins over everything, e.g. a partner's network). */
  notHostingAsns?: readonly number[];
}

/** Options of `AsnDatabase.load`. */
export interface AsnOptions extends HostingOptions {
  /** IPv4 CSV path; default the packaged `asn-ipv4.csv`. */
  ipv4Csv?: string;
  /** IPv6 CSV path; default the packaged `asn-ipv6.csv`. */
  ipv6Csv?: string;
}

/** Whether an (ASN, organisation) pair is a hosting/datacenter network. */
export function isHostingNetwork(asn: number, org: string, options: HostingOptions = {}): boolean {
  return classifyHosting(
    asn,
    () => hostingOrg(org),
    new Set(options.hostingAsns),
    new Set(options.notHostingAsns),
  );
}

function hostingOrg(org: string): boolean {
  return HOSTING_ORG_PATTERNS.some((pattern) => pattern.test(org));
}

/** Exclusions win, then listed ASNs, then the organisation name (tested only when needed). */
function classifyHosting(
  asn: number,
  orgMatches: () => boolean,
  extra: ReadonlySet<number>,
  excluded: ReadonlySet<number>,
): boolean {
  if (NOT_HOSTING_ASNS.has(asn) || excluded.has(asn)) return false;
  return HOSTING_ASNS.has(asn) || extra.has(asn) || orgMatches();
}

/** The packaged ip-location-db ASN CSV files. */
export function packagedAsnFiles(): { ipv4Csv: string; ipv6Csv: string } {
  const require = createRequire(import.meta.url);
  return {
    ipv4Csv: require.resolve('@ip-location-db/asn/asn-ipv4.csv'),
    ipv6Csv: require.resolve('@ip-location-db/asn/asn-ipv6.csv'),
  };
}

/** A line of an ASN CSV that is not a valid row; names the file and line. */
export class AsnDataError extends ConfigError {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
  }
}

/** Build statistics, for logs and the measurements above. */
export interface AsnIndexStats {
  ipv4Rows: number;
  ipv6Rows: number;
  /** Ranges after overlap resolution and merging. */
  ipv4Ranges: number;
  ipv6Ranges: number;
  networks: number;
  organisations: number;
  /** Bytes of typed arrays (ranges and network table). */
  indexBytes: number;
  buildMs: number;
}

/** Parsed CSV text with the name used in error messages. */
export interface AsnCsvSource {
  name: string;
  text: string;
}

/** IP → AS lookups over an in-memory index. */
export class AsnDatabase implements AsnLookup {
  /** Reads and indexes the configured (default: packaged) CSV files. Throws `ConfigError` on bad data. */
  static async load(options: AsnOptions = {}): Promise<AsnDatabase> {
    const packaged = options.ipv4Csv && options.ipv6Csv ? undefined : packagedAsnFiles();
    const ipv4Csv = options.ipv4Csv ?? packaged!.ipv4Csv;
    const ipv6Csv = options.ipv6Csv ?? packaged!.ipv6Csv;
    const read = async (path: string): Promise<AsnCsvSource> => {
      try {
        return { name: basename(path), text: await readFile(path, 'utf8') };
      } catch (cause) {
        throw new ConfigError(`Cannot read ASN data ${path}: ${(cause as Error).message}`, { cause });
      }
    };
    const [v4, v6] = await Promise.all([read(ipv4Csv), read(ipv6Csv)]);
    return AsnDatabase.fromCsv([v4, v6], options);
  }

  /** Indexes CSV text (any mix of IPv4 and IPv6 rows per source). */
  static fromCsv(sources: readonly AsnCsvSource[], options: HostingOptions = {}): AsnDatabase {
    const started = performance.now();
    const index = new IndexBuilder();
    for (const source of sources) index.addCsv(source);
    const table = index.ranges.build();
    const { asns, networkOrgs, orgs } = index;

    const extraHosting = new Set(options.hostingAsns);
    const notHosting = new Set(options.notHostingAsns);
    // Many networks share an organisation name: test the patterns once per name.
    const orgHosting = new Map<number, boolean>();
    const byOrg = (orgId: number) => {
      let verdict = orgHosting.get(orgId);
      if (verdict === undefined) {
        verdict = hostingOrg(orgs[orgId]!);
        orgHosting.set(orgId, verdict);
      }
      return verdict;
    };
    const hosting = new Uint8Array(asns.length);
    for (let i = 0; i < asns.length; i++) {
      const orgId = networkOrgs[i]!;
      hosting[i] = classifyHosting(asns[i]!, () => byOrg(orgId), extraHosting, notHosting) ? 1 : 0;
    }
    const stats: AsnIndexStats = {
      ipv4Rows: index.ipv4Rows,
      ipv6Rows: index.ipv6Rows,
      ipv4Ranges: table.ipv4Count,
      ipv6Ranges: table.ipv6Count,
      networks: asns.length,
      organisations: orgs.length,
      indexBytes: table.byteLength + asns.length * 9,
      buildMs: Math.round(performance.now() - started),
    };
    return new AsnDatabase(
      table,
      Uint32Array.from(asns),
      Uint32Array.from(networkOrgs),
      hosting,
      orgs,
      stats,
    );
  }

  private constructor(
    private readonly table: IpRangeTable,
    private readonly asns: Uint32Array,
    private readonly networkOrgs: Uint32Array,
    private readonly hosting: Uint8Array,
    private readonly orgs: readonly string[],
    /** How big the index is and how long it took. */
    readonly stats: AsnIndexStats,
  ) {}

  /** The AS of a public address (IPv4-mapped IPv6 looked up as IPv4), or undefined. */
  lookup(ip: string): AsnRecord | undefined {
    const address = classifyAddress(ip);
    if (address.kind !== 'public') return undefined;
    const network = this.table.find(address.key);
    if (network < 0) return undefined;
    return {
      asn: this.asns[network]!,
      org: this.orgs[this.networkOrgs[network]!]!,
      hosting: this.hosting[network] === 1,
    };
  }
}

const MAX_ORGS = 2 ** 21;

/** Accumulates rows: ranges pointing at distinct (ASN, organisation) networks. */
class IndexBuilder {
  readonly ranges = new IpRangeTableBuilder();
  readonly orgs: string[] = [];
  readonly asns: number[] = [];
  readonly networkOrgs: number[] = [];
  ipv4Rows = 0;
  ipv6Rows = 0;
  private readonly orgIndex = new Map<string, number>();
  private readonly networkIndex = new Map<number, number>();
  private readonly byAsn = new Map<number, number>();
  private lastAsn = -1;
  private lastOrg = '';
  private lastNetwork = -1;

  /** Adds every data row of a CSV; a header line is skipped; a bad row throws `AsnDataError`. */
  addCsv({ name, text }: AsnCsvSource): void {
    let pos = 0;
    let line = 0;
    while (pos < text.length) {
      let eol = text.indexOf('\n', pos);
      if (eol === -1) eol = text.length;
      line++;
      let end = eol;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      if (end > pos) {
        const reason = this.addRow(text, pos, end, line);
        if (reason) throw new AsnDataError(name, line, reason);
      }
      pos = eol + 1;
    }
  }

  /** Adds one row; returns what is wrong with it, if anything. */
  private addRow(text: string, pos: number, end: number, line: number): string | undefined {
    const c1 = text.indexOf(',', pos);
    const c2 = c1 === -1 ? -1 : text.indexOf(',', c1 + 1);
    const c3 = c2 === -1 ? -1 : text.indexOf(',', c2 + 1);
    if (c3 === -1 || c3 >= end) return 'expected ip_range_start,ip_range_end,asn,organization';
    const first = text.slice(pos, c1);
    // A header row (`ip_range_start,…`) in an operator's file: no IP address is all letters.
    if (line === 1 && /^[a-z_ ]+$/i.test(first)) return undefined;
    const asnText = text.slice(c2 + 1, c3);
    if (!/^\d{1,10}$/.test(asnText) || Number(asnText) > 0xffffffff) {
      return `bad AS number '${asnText.slice(0, 20)}'`;
    }
    const network = this.network(Number(asnText), unquote(text.slice(c3 + 1, end)));
    const last = text.slice(c1 + 1, c2);
    const v4Start = parseIpv4(first);
    if (v4Start !== undefined) {
      const v4End = parseIpv4(last);
      if (v4End === undefined || v4End < v4Start) return `bad IPv4 range end '${last.slice(0, 45)}'`;
      this.ranges.addIpv4(v4Start, v4End, network);
      this.ipv4Rows++;
      return undefined;
    }
    const v6Start = parseIpv6(first);
    if (!v6Start) return `not an IP address '${first.slice(0, 45)}'`;
    const v6End = parseIpv6(last);
    if (!v6End) return `bad IPv6 range end '${last.slice(0, 45)}'`;
    try {
      this.ranges.addIpv6(v6Start, v6End, network);
    } catch {
      return 'range end before its start';
    }
    this.ipv6Rows++;
    return undefined;
  }

  private network(asn: number, org: string): number {
    // Consecutive rows mostly belong to the same network, and most ASNs have a single organisation
    // name: both shortcuts avoid hashing the organisation string.
    if (asn === this.lastAsn && org === this.lastOrg) return this.lastNetwork;
    let network = this.byAsn.get(asn);
    if (network === undefined || this.orgs[this.networkOrgs[network]!] !== org) {
      network = this.addNetwork(asn, org);
      if (!this.byAsn.has(asn)) this.byAsn.set(asn, network);
    }
    this.lastAsn = asn;
    this.lastOrg = this.orgs[this.networkOrgs[network]!]!;
    this.lastNetwork = network;
    return network;
  }

  private addNetwork(asn: number, org: string): number {
    let orgId = this.orgIndex.get(org);
    if (orgId === undefined) {
      orgId = this.orgs.length;
      if (orgId >= MAX_ORGS) throw new ConfigError(`ASN data has more than ${MAX_ORGS} organisation names.`);
      // A copy, not a slice: a slice would keep the whole file's text alive.
      const own = Buffer.from(org, 'utf8').toString('utf8');
      this.orgs.push(own);
      this.orgIndex.set(own, orgId);
    }
    // ASN < 2^32 and orgId < 2^21: the pair is below 2^53, exact in a double.
    const pair = asn * MAX_ORGS + orgId;
    let network = this.networkIndex.get(pair);
    if (network === undefined) {
      network = this.asns.length;
      this.asns.push(asn);
      this.networkOrgs.push(orgId);
      this.networkIndex.set(pair, network);
    }
    return network;
  }
}

/** RFC 4180 field: `"Cloudflare, Inc."` → `Cloudflare, Inc.`, `"LLC ""X"""` → `LLC "X"`. */
function unquote(field: string): string {
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"')) {
    return field.slice(1, -1).replaceAll('""', '"');
  }
  return field;
}
