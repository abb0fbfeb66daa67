import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { AsnDatabase, AsnDataError, type AsnLookup, isHostingNetwork } from '../../src/risk/geo/asn.ts';
import { classifyAddress, parseIpKey, parseIpv6 } from '../../src/risk/net/address.ts';
import { CidrList, CidrListError } from '../../src/risk/net/cidr-list.ts';
import { IpRangeTableBuilder } from '../../src/risk/net/ip-ranges.ts';
import { NETWORK_POINTS, networkSignal } from '../../src/risk/signals/network.ts';
import type { RiskAttempt } from '../../src/risk/types.ts';

let asn: AsnDatabase;
let dir: string;

beforeAll(async () => {
  asn = await AsnDatabase.load();
  dir = await mkdtemp(join(tmpdir(), 'trustgate-cidr-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const attempt = (ip?: string): RiskAttempt => ({
  tenantId: 't1',
  action: 'sign_in',
  at: Date.UTC(2026, 5, 1),
  ...(ip ? { ip } : {}),
});

describe('address parsing', () => {
  it('unwraps IPv4-mapped IPv6 to IPv4', () => {
    expect(parseIpKey('::ffff:8.8.8.8')).toEqual({ family: 4, value: 0x08080808 });
    expect(parseIpKey('::ffff:808:808')).toEqual({ family: 4, value: 0x08080808 });
  });

  it('reads every IPv6 text form into the same words', () => {
    const full = Array.from(parseIpv6('2001:0db8:0000:0000:0000:ff00:0042:8329')!);
    expect(Array.from(parseIpv6('2001:db8::ff00:42:8329')!)).toEqual(full);
    expect(Array.from(parseIpv6('2001:DB8:0:0:0:FF00:42:8329')!)).toEqual(full);
    expect(Array.from(parseIpv6('::')!)).toEqual([0, 0, 0, 0]);
    expect(Array.from(parseIpv6('::1')!)).toEqual([0, 0, 0, 1]);
    expect(Array.from(parseIpv6('1::')!)).toEqual([0x10000, 0, 0, 0]);
  });

  it.each([
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '12345::',
    'g::',
    '1:',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3',
    '::1.2.3',
  ])('refuses the malformed address %s', (text) => {
    expect(parseIpKey(text)).toBeUndefined();
  });

  it('calls only globally routable unicast addresses public', () => {
    expect(classifyAddress('8.8.8.8')).toMatchObject({ kind: 'public', address: '8.8.8.8' });
    expect(classifyAddress('::ffff:8.8.8.8')).toMatchObject({ kind: 'public', address: '8.8.8.8' });
    expect(classifyAddress('10.0.0.1')).toMatchObject({ kind: 'non_public', range: 'private' });
    expect(classifyAddress('fe80::1%en0')).toMatchObject({ kind: 'non_public', range: 'linkLocal' });
    expect(classifyAddress('2002:c000:0204::1')).toMatchObject({ kind: 'non_public', range: '6to4' });
    expect(classifyAddress('nope')).toEqual({ kind: 'malformed' });
  });
});

describe('IP range table', () => {
  it('lets a nested range win inside its parent and keeps the parent around it', () => {
    const builder = new IpRangeTableBuilder();
    builder.addIpv4(0, 100, 1);
    builder.addIpv4(40, 60, 2);
    builder.addIpv4(50, 55, 3);
    const table = builder.build();
    expect([0, 39, 40, 49, 50, 55, 56, 60, 61, 100, 101].map((a) => table.findIpv4(a))).toEqual([
      1, 1, 2, 2, 3, 3, 2, 2, 1, 1, -1,
    ]);
  });

  it('lets the later start win where ranges partly overlap', () => {
    const builder = new IpRangeTableBuilder();
    builder.addIpv4(10, 20, 1);
    builder.addIpv4(15, 30, 2);
    const table = builder.build();
    expect([9, 10, 14, 15, 20, 30, 31].map((a) => table.findIpv4(a))).toEqual([-1, 1, 1, 2, 2, 2, -1]);
  });

  it('sorts unsorted input and merges adjacent pieces with the same value', () => {
    const builder = new IpRangeTableBuilder();
    builder.addIpv4(200, 300, 7);
    builder.addIpv4(100, 199, 7);
    builder.addIpv4(0xffffff00, 0xffffffff, 8);
    const table = builder.build();
    expect(table.ipv4Count).toBe(2);
    expect([99, 100, 250, 301, 0xffffffff].map((a) => table.findIpv4(a))).toEqual([-1, 7, 7, -1, 8]);
  });

  it('handles IPv6 ranges up to the last address', () => {
    const builder = new IpRangeTableBuilder();
    builder.addIpv6(parseIpv6('2001:db8::')!, parseIpv6('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')!, 1);
    builder.addIpv6(parseIpv6('ff00::')!, parseIpv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')!, 2);
    const table = builder.build();
    expect(table.findIpv6(parseIpv6('2001:db8:1::1')!)).toBe(1);
    expect(table.findIpv6(parseIpv6('2001:db9::')!)).toBe(-1);
    expect(table.findIpv6(parseIpv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')!)).toBe(2);
  });
});

describe('CIDR lists', () => {
  const torExits = [
    '# Tor exit nodes',
    '185.220.101.1',
    '185.220.101.2  # exit 2',
    '',
    '2a0b:f4c2::/40',
    '10.8.0.0/16 ; VPN pool',
  ].join('\n');

  it('matches single addresses, IPv4 and IPv6 ranges, and names the entry and line', () => {
    const list = CidrList.parse(torExits, 'tor-exits');
    expect(list.size).toBe(4);
    expect(list.match('185.220.101.2')).toEqual({ list: 'tor-exits', entry: '185.220.101.2', line: 3 });
    expect(list.match('2a0b:f4c2:2::1')).toEqual({ list: 'tor-exits', entry: '2a0b:f4c2::/40', line: 5 });
    expect(list.match('10.8.200.1')).toMatchObject({ line: 6 });
    expect(list.has('185.220.101.3')).toBe(false);
    expect(list.has('::ffff:185.220.101.1')).toBe(true);
    expect(list.has('not an ip')).toBe(false);
  });

  it('reports the most specific entry when entries nest', () => {
    const list = CidrList.fromEntries(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3'], 'office');
    expect(list.match('10.1.2.3')?.entry).toBe('10.1.2.3');
    expect(list.match('10.1.9.9')?.entry).toBe('10.1.0.0/16');
    expect(list.match('10.200.0.1')?.entry).toBe('10.0.0.0/8');
  });

  it('loads a file and names it in matches', async () => {
    const path = join(dir, 'deny.txt');
    await writeFile(path, torExits);
    const list = await CidrList.load(path);
    expect(list.match('185.220.101.1')?.list).toBe('deny.txt');
  });

  it('refuses a malformed file, naming every bad line', async () => {
    const path = join(dir, 'broken.txt');
    await writeFile(
      path,
      [
        '# header',
        '1.2.3.4',
        '1.2.3.999',
        '10.0.0.0/33',
        '',
        '10.0.0.1/8',
        '2001:db8::/129',
        'fe80::1 x',
      ].join('\n'),
    );
    const error = await CidrList.load(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CidrListError);
    expect(error).toBeInstanceOf(ConfigError);
    const listError = error as CidrListError;
    expect(listError.line).toBe(3);
    expect(listError.issues.map((issue) => issue.line)).toEqual([3, 4, 6, 7, 8]);
    expect(listError.message).toContain("broken.txt:3: '1.2.3.999' is not an IP address");
    expect(listError.message).toContain(
      "broken.txt:6: '10.0.0.1/8' has host bits set (the network is 10.0.0.0/8)",
    );
  });

  it('refuses a missing file with a configuration error', async () => {
    await expect(CidrList.load(join(dir, 'missing.txt'))).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('ASN lookups on the packaged data', () => {
  it.each([
    ['8.8.8.8', 15169],
    ['1.1.1.1', 13335],
    ['80.187.0.1', 3320], // Deutsche Telekom
    ['2003::1', 3320],
    ['2001:4860:4860::8888', 15169],
    ['::ffff:1.1.1.1', 13335],
  ])('finds the AS of %s (AS%i)', (ip, number) => {
    expect(asn.lookup(ip)?.asn).toBe(number);
  });

  it.each([
    ['3.5.140.1', 'AWS'],
    ['52.95.110.1', 'AWS'],
    ['104.131.0.1', 'DigitalOcean'],
    ['2a03:b0c0::1', 'DigitalOcean IPv6'],
    ['2600:1f00::1', 'AWS IPv6'],
  ])('classes %s (%s) as hosting', (ip) => {
    expect(asn.lookup(ip)?.hosting).toBe(true);
  });

  it.each(['80.187.0.1', '91.0.0.1', '2003::1'])(
    'does not class the consumer network %s as hosting',
    (ip) => {
      expect(asn.lookup(ip)?.hosting).toBe(false);
    },
  );

  it('has nothing to say about non-public addresses', () => {
    expect(asn.lookup('10.0.0.1')).toBeUndefined();
    expect(asn.lookup('::1')).toBeUndefined();
  });

  it('indexes every row of the packaged files', () => {
    expect(asn.stats.ipv4Rows).toBeGreaterThan(100_000);
    expect(asn.stats.ipv6Rows).toBeGreaterThan(10_000);
    expect(asn.stats.indexBytes).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('hosting classification', () => {
  it('matches hosting companies by name without catching look-alikes', () => {
    expect(isHostingNetwork(64_000, 'Amazon Data Services Japan')).toBe(true);
    expect(isHostingNetwork(64_000, 'Hetzner Online GmbH')).toBe(true);
    expect(isHostingNetwork(64_000, 'AMAZONIA TELECOMUNICACOES LTDA')).toBe(false);
    expect(isHostingNetwork(64_000, 'Getzner Werkstoffe GmbH')).toBe(false);
  });

  it('keeps OVH consumer broadband out although it shares the organisation name', () => {
    expect(isHostingNetwork(16276, 'OVH SAS')).toBe(true);
    expect(isHostingNetwork(35540, 'OVH SAS')).toBe(false);
  });

  it('takes extra hosting ASNs and exclusions from configuration', () => {
    expect(isHostingNetwork(64_512, 'Small VPS Ltd', { hostingAsns: [64_512] })).toBe(true);
    expect(isHostingNetwork(14061, 'DigitalOcean, LLC', { notHostingAsns: [14061] })).toBe(false);
    const db = AsnDatabase.fromCsv([{ name: 'x.csv', text: '5.6.7.0,5.6.7.255,64512,Small VPS Ltd\n' }], {
      hostingAsns: [64_512],
    });
    expect(db.lookup('5.6.7.8')).toEqual({ asn: 64_512, org: 'Small VPS Ltd', hosting: true });
  });
});

describe('ASN CSV parsing', () => {
  it('reads quoted organisation names with commas and doubled quotes, and a header row', () => {
    const text = [
      'ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization',
      '2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""',
      '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."',
      '2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project',
    ].join('\r\n');
    const db = AsnDatabase.fromCsv([{ name: 'mixed.csv', text }]);
    expect(db.lookup('2.26.201.1')?.org).toBe('LLC "SPUTNIK"');
    expect(db.lookup('1.0.0.1')?.org).toBe('Cloudflare, Inc.');
    expect(db.lookup('2001:200::1')?.asn).toBe(2500);
  });

  it('refuses a bad row, naming the file and line', () => {
    const text = '1.0.0.0,1.0.0.255,13335,Cloudflare\n1.0.1.0,1.0.0.255,1,Backwards\n';
    expect(() => AsnDatabase.fromCsv([{ name: 'bad.csv', text }])).toThrow(AsnDataError);
    expect(() => AsnDatabase.fromCsv([{ name: 'bad.csv', text }])).toThrow(/^bad\.csv:2: /);
    expect(() => AsnDatabase.fromCsv([{ name: 'bad.csv', text: '1.0.0.0,1.0.0.255,AS1,X\n' }])).toThrow(
      /bad\.csv:1: bad AS number/,
    );
  });
});

describe('network signal', () => {
  const deny = CidrList.fromEntries(['185.220.101.0/24', '198.51.99.0/24'], 'tor-exits');
  const feed = CidrList.fromEntries(['185.220.0.0/16'], 'threat-feed');
  const allow = CidrList.fromEntries(['3.5.140.0/24', '10.20.0.0/16'], 'office');

  it('flags a hosting network with its AS as evidence', () => {
    expect(networkSignal(attempt('104.131.0.1'), { asn })).toEqual([
      {
        signal: 'network',
        reason: 'network.hosting',
        points: NETWORK_POINTS.hosting,
        evidence: { asn: 14061, org: 'DigitalOcean, LLC' },
      },
    ]);
  });

  it('says nothing about a consumer network', () => {
    expect(networkSignal(attempt('80.187.0.1'), { asn, deny: [deny], allow: [allow] })).toEqual([]);
  });

  it('gives a deny-list hit high points, once however many lists match', () => {
    const result = networkSignal(attempt('185.220.101.7'), { asn, deny: [deny, feed] });
    expect(result).toEqual([
      {
        signal: 'network',
        reason: 'network.denied',
        points: NETWORK_POINTS.denied,
        evidence: {
          list: 'tor-exits',
          entry: '185.220.101.0/24',
          line: 1,
          lists: ['tor-exits', 'threat-feed'],
          asn: 60729,
          org: 'Stiftung Erneuerbare Freiheit',
        },
      },
    ]);
    expect(NETWORK_POINTS.denied).toBeGreaterThanOrEqual(80);
  });

  it('reports an allow-list hit with 0 points and never drops the other findings', () => {
    const result = networkSignal(attempt('3.5.140.9'), { asn, allow: [allow] });
    expect(result).toEqual([
      expect.objectContaining({
        reason: 'network.allowed',
        points: 0,
        evidence: expect.objectContaining({ list: 'office' }),
      }),
      expect.objectContaining({ reason: 'network.hosting', points: NETWORK_POINTS.hosting }),
    ]);
  });

  it('keeps the allow-list at 0 points even if an override says otherwise', () => {
    const result = networkSignal(
      attempt('10.20.1.1'),
      { allow: [allow] },
      { points: { allowed: -50 } as never },
    );
    expect(result).toMatchObject([{ reason: 'network.allowed', points: 0 }]);
  });

  it('reports deny and allow when both match, so the policy sees the conflict', () => {
    const both = CidrList.fromEntries(['185.220.101.7'], 'partner');
    const reasons = (
      networkSignal(attempt('185.220.101.7'), { deny: [deny], allow: [both] }) as { reason: string }[]
    ).map((c) => c.reason);
    expect(reasons).toEqual(['network.denied', 'network.allowed']);
  });

  it('matches lists against private addresses too', () => {
    expect(networkSignal(attempt('10.20.3.4'), { asn, allow: [allow] })).toMatchObject([
      { reason: 'network.allowed', evidence: { entry: '10.20.0.0/16' } },
    ]);
  });

  it.each([
    [undefined, 'no_ip'],
    ['999.1.1.1', 'malformed_ip'],
    ['192.168.1.1', 'private_address'],
    ['127.0.0.1', 'private_address'],
  ])('skips %s with %s', (ip, skipped) => {
    expect(networkSignal(attempt(ip), { asn, deny: [deny] })).toEqual({ signal: 'network', skipped });
  });

  it('skips with asn_unknown when the ASN data does not cover a public address', () => {
    const empty: AsnLookup = { lookup: () => undefined };
    expect(networkSignal(attempt('8.8.8.8'), { asn: empty })).toEqual({
      signal: 'network',
      skipped: 'asn_unknown',
    });
  });

  it('skips with not_configured when it has neither ASN data nor lists', () => {
    expect(networkSignal(attempt('8.8.8.8'), {})).toEqual({ signal: 'network', skipped: 'not_configured' });
  });
});
