/**
 * Labelled synthetic sign-in traffic for evaluating the risk engine and a policy (`npm run eval:risk`).
 * Deterministic for a seed: every random choice comes from mulberry32 streams derived from it (one per
 * person, one for the attacks, so changing the attack mix leaves the people's traffic unchanged).
 *
 * People. Each has a home city with real residential addresses (`HOME_CITIES`: /24 blocks of the
 * city's main residential ISPs that the packaged GeoLite2 data places in that city; a household's
 * address changes now and then within them), one to three devices (fingerprint components shared by every
 * unit of the device's model plus unit-specific ones; browser updates bump the user agent and now and
 * then change a component, so the thumbmark changes and only the fuzzy match recognises the device),
 * a typing rhythm for their username per kind of keyboard (`generateSyntheticKeystrokes`; a third
 * subject of the same population types it as an impostor), habitual sign-in hours (local time, two
 * peaks), a join day (most at the start, some during the period) and sometimes: trips (airliner
 * speed, a hotel's address at the destination, the phone roaming home-routed through its own
 * carrier), a new phone, mobile data (carrier addresses as GeoLite2 places them: often country-level,
 * sometimes a gateway city far from the person), a commercial VPN (hosting addresses), a hardware-bound
 * passkey (used for some desktop sign-ins, and to complete a step-up), a browser that blocks the
 * fingerprint script (3 % of devices: no device payload). They sign in with their passkey
 * (`SYNCED_PASSKEY`); 1.5 % of sign-ins follow a failed attempt; with a passkey autofill or on a phone
 * the username is often not typed (no typing payload).
 *
 * Attacks, after the warm-up, against people who joined at least two weeks before:
 *   - `attack.stuffing`: campaigns trying a leaked list of usernames with recovery codes, most from one
 *     to three hosting addresses in a burst (no fingerprint, or one headless browser's), one from a
 *     residential proxy pool, slower, with a fresh fingerprint per try. About 3 % of tries succeed
 *     (the code was in the leak); the rest are factor failures.
 *   - `attack.takeover`: from another country (residential, or a VPN/hosting address) on a new device,
 *     with a compromised synced passkey (its cloud account taken over) or a recovery code (after up to
 *     two wrong ones); the username typed in the attacker's rhythm or not typed.
 *   - `attack.impossible_travel`: the same, 3 to 90 minutes after the victim signed in at home, from
 *     over 2,500 km away.
 *   - `attack.session_replay`: a session stolen from the victim's browser, used 2 to 45 minutes after
 *     their sign-in to enrol a passkey (the session's assurance), from a new device and address: a
 *     residential proxy in the victim's country, a hosting address, or a residential address abroad;
 *     the victim's user agent is copied most of the time.
 *   - `attack.scripted`: automation typing the username: without delay, with a fixed delay, with a
 *     random delay (Puppeteer-style, holds under 2 ms), or replaying human-like timings from a library.
 *
 * Warm-up: the first `warmupDays` build everyone's history (first sign-ins are on a device with
 * nothing to compare); no attack happens then, and the evaluation reports warm-up sign-ins apart.
 * People who join later are not warm-up: their first sign-ins count as legitimate traffic.
 *
 * `verifyTrafficAddresses` checks every address against the geolocation and ASN data: the country,
 * city-level placement within 100 km of the city for residential and hosting blocks, hosting or not.
 */
import { createHash } from 'node:crypto';
import type { AsnLookup } from '../geo/asn.ts';
import { haversineKm } from '../geo/distance.ts';
import type { GeoLookup } from '../geo/geolocation.ts';
import { type KeystrokeEvent, phraseKeys, type TypingPhrase, usernamePhrase } from '../keystroke/features.ts';
import { generateSyntheticKeystrokes, payloadFromVector, seededRandom } from '../keystroke/synthetic.ts';
import {
  HARDWARE_PASSKEY,
  RECOVERY_CODE,
  type SimulatedAssurance,
  type SimulatedAttempt,
  SYNCED_PASSKEY,
} from '../simulation.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------------
// Address book. Blocks are /24s written as their first three octets; every host in 2-253 of each was
// placed by the packaged GeoLite2 City data as noted, and the packaged ASN data names the network.

/** A place with real address blocks. */
export interface Place {
  key: string;
  country: string;
  city: string;
  lat: number;
  lon: number;
  /** Standard-time UTC offset, hours (daylight saving ignored). */
  utcOffset: number;
  /** Who announces the blocks (organisation, ASN). */
  network: string;
  blocks: readonly string[];
  /** A hosting/datacenter network (the ASN data classifies it so). */
  hosting: boolean;
}

/** A home city and how many of the simulated people live there (relative weight). */
export interface HomeCity extends Place {
  weight: number;
}

/** A mobile carrier: its blocks are wherever GeoLite2 places the carrier's gateways (often country-level). */
export interface Carrier {
  key: string;
  country: string;
  network: string;
  blocks: readonly string[];
}

function place(
  key: string,
  country: string,
  city: string,
  [lat, lon]: readonly [number, number],
  utcOffset: number,
  network: string,
  blocks: string,
  hosting = false,
): Place {
  return { key, country, city, lat, lon, utcOffset, network, blocks: blocks.split(' '), hosting };
}

const home = (weight: number, p: Place): HomeCity => ({ ...p, weight });

/** Where the simulated people live: residential ISP blocks, by city. */
// biome-ignore format: the address book reads as a table
export const HOME_CITIES: readonly HomeCity[] = [
  home(6, place('us-nyc', 'US', 'New York', [40.73, -73.98], -5, 'Charter/Spectrum AS12271', '24.39.113 24.90.0 24.97.200 24.102.64 24.103.0 24.104.192')),
  home(4, place('us-chicago', 'US', 'Chicago', [41.8, -87.6], -6, 'Comcast AS7922', '24.1.124 24.13.92 24.14.26 24.15.245 67.167.240 67.175.97 69.136.186 71.57.54')),
  home(3, place('us-houston', 'US', 'Houston', [29.63, -95.38], -6, 'Comcast AS7922', '24.104.152 73.55.242 73.155.217 73.183.210 75.148.154 76.30.70 76.31.3 76.142.209')),
  home(3, place('us-seattle', 'US', 'Seattle', [47.45, -122.27], -8, 'Comcast AS7922', '24.16.84 24.17.208 24.18.237 24.19.171 67.160.0 67.183.81 67.185.77 71.24.180')),
  home(4, place('us-la', 'US', 'Los Angeles', [34.05, -118.24], -8, 'Charter AS20001', '23.241.44 23.242.13 23.243.72 45.48.0 45.49.14')),
  home(3, place('us-atlanta', 'US', 'Atlanta', [33.87, -84.47], -5, 'Comcast AS7922', '24.30.0 24.98.14 24.99.3 24.104.134 24.125.24 24.126.148 24.131.52 69.180.49')),
  home(3, place('us-boston', 'US', 'Boston', [42.29, -71.07], -5, 'Comcast AS7922', '24.34.9 24.60.120 24.61.59 24.62.148 24.91.174 24.104.114 71.26.163 73.123.225')),
  home(2, place('us-denver', 'US', 'Denver', [39.79, -104.83], -7, 'Comcast AS7922', '24.9.71 67.165.244 67.173.228 67.176.95 71.24.135 71.56.217 71.196.173 73.243.195')),
  home(4, place('us-sf', 'US', 'San Francisco', [37.78, -122.44], -8, 'Comcast AS7922', '24.130.49 67.160.254 67.180.87 69.181.38 75.144.31 76.21.43 96.68.191 96.74.113')),
  home(2, place('us-miami', 'US', 'Miami', [25.73, -80.4], -5, 'Comcast AS7922', '67.191.65 71.26.118 71.27.192 71.57.147 71.206.70 71.229.106 73.139.221 75.74.16')),
  home(3, place('ca-toronto', 'CA', 'Toronto', [43.71, -79.41], -5, 'Bell Canada AS577', '50.100.183 50.101.18 64.228.133 64.229.31 64.231.0 65.93.254 67.69.4 67.70.213')),
  home(2, place('ca-montreal', 'CA', 'Montreal', [45.51, -73.59], -5, 'Bell Canada AS577', '50.100.0 64.228.7 64.229.73 65.92.45 65.93.14 65.94.73 65.95.12 67.68.5')),
  home(6, place('gb-london', 'GB', 'London', [51.51, -0.13], 0, 'BT AS2856', '31.130.240 81.149.85 81.161.52 86.54.81 86.110.57 217.33.24 217.217.56')),
  home(2, place('gb-manchester', 'GB', 'Manchester', [53.39, -2.28], 0, 'BT AS2856 / Virgin Media AS5089', '31.50.232 62.6.196 62.31.192 62.252.252 81.96.63 81.153.77 82.21.136 82.25.132')),
  home(3, place('de-berlin', 'DE', 'Berlin', [52.44, 13.25], 1, 'Deutsche Telekom AS3320', '79.236.211 79.242.205 84.136.247 84.147.236 84.174.209 87.128.0 87.173.210 87.180.203')),
  home(2, place('de-hamburg', 'DE', 'Hamburg', [53.65, 10.01], 1, 'Deutsche Telekom AS3320', '79.196.251 79.199.248 79.209.238 79.226.221 79.245.202 80.131.65 80.151.181')),
  home(2, place('de-munich', 'DE', 'Munich', [48.13, 11.57], 1, 'Deutsche Telekom AS3320', '79.230.217 80.135.112 80.147.15 84.172.211 87.149.234 93.230.217')),
  home(2, place('de-frankfurt', 'DE', 'Frankfurt am Main', [50.11, 8.68], 1, 'Deutsche Telekom AS3320', '84.128.0 84.148.235 84.232.29 84.236.247 87.76.172 87.158.225')),
  home(4, place('fr-paris', 'FR', 'Paris', [48.86, 2.35], 1, 'Orange AS3215', '2.13.194 81.249.158 81.252.38 81.255.20 83.199.146 83.206.145 86.195.121 86.238.141')),
  home(1, place('fr-lyon', 'FR', 'Lyon', [45.75, 4.85], 1, 'Orange AS3215', '81.251.204 83.206.129 86.194.123 86.202.107 86.207.97 86.221.196 86.248.2 90.52.119')),
  home(1, place('fr-marseille', 'FR', 'Marseille', [43.3, 5.39], 1, 'Orange AS3215', '86.211.89 86.220.198 86.221.69 86.228.151 86.229.49 90.14.41 90.73.33 90.85.32')),
  home(2, place('es-madrid', 'ES', 'Madrid', [40.46, -3.65], 1, 'Telefonica AS3352', '2.136.186 2.138.46 2.139.7 2.140.185 2.141.208 2.143.68 79.148.47 79.149.232')),
  home(2, place('es-barcelona', 'ES', 'Barcelona', [41.38, 2.17], 1, 'Telefonica AS3352', '79.152.31 79.153.27 79.154.23 79.155.19 79.156.141 79.158.7 80.27.240 80.32.157')),
  home(2, place('it-milan', 'IT', 'Milan', [45.47, 9.19], 1, 'Telecom Italia AS3269', '2.116.30 2.117.115 79.45.210 79.50.205 79.54.201 80.16.31 80.20.30 80.21.22')),
  home(1, place('it-rome', 'IT', 'Rome', [41.89, 12.51], 1, 'Telecom Italia AS3269', '2.114.15 2.115.7 2.117.146 2.118.107 2.119.6 79.12.243 79.18.237 79.19.236')),
  home(2, place('nl-amsterdam', 'NL', 'Amsterdam', [52.37, 4.92], 1, 'KPN AS1136', '77.60.45 77.160.189 77.161.59 77.164.47 77.165.43 77.168.94 77.171.82 77.174.70')),
  home(1, place('nl-rotterdam', 'NL', 'Rotterdam', [51.93, 4.47], 1, 'KPN AS1136', '77.60.75 77.61.44 77.161.122 77.175.3 80.60.0 81.204.45 81.205.59 81.206.73')),
  home(1, place('se-stockholm', 'SE', 'Stockholm', [59.33, 18.07], 1, 'Telia AS3301', '2.248.240 2.249.74 78.66.181 78.67.114 78.68.47 78.71.161 78.72.157 81.224.126')),
  home(1, place('ch-zurich', 'CH', 'Zurich', [47.38, 8.54], 1, 'Swisscom AS3303', '46.14.210 83.76.30 83.78.13 83.79.12 83.173.224 85.0.0 85.1.23 85.2.15')),
  home(1, place('pl-warsaw', 'PL', 'Warsaw', [52.23, 21.01], 1, 'Orange Polska AS5617', '31.61.14 31.62.13 37.225.129 46.170.35 46.171.52 79.184.0 79.185.23 79.187.193')),
  home(1, place('ie-dublin', 'IE', 'Dublin', [53.4, -6.21], 0, 'Eir AS5466', '51.171.0 83.70.70 86.40.0 86.41.240 86.47.6 95.44.35 95.45.3 159.134.210')),
  home(1, place('at-vienna', 'AT', 'Vienna', [48.21, 16.3], 1, 'A1 Telekom AS8447', '46.74.98 46.75.213 46.206.0 46.207.213 62.46.126 62.47.38 80.120.162 80.121.42')),
  home(1, place('dk-copenhagen', 'DK', 'Copenhagen', [55.67, 12.57], 1, 'TDC AS3292', '2.104.168 2.105.176 2.106.112 2.107.240 2.109.112 2.110.0 2.111.18 62.135.192')),
  home(2, place('au-sydney', 'AU', 'Sydney', [-33.95, 151.12], 10, 'Telstra AS1221', '1.123.186 1.129.81 1.130.143 1.140.127 1.141.189 1.144.57 1.145.119 1.156.6')),
  home(1, place('au-melbourne', 'AU', 'Melbourne', [-37.81, 144.95], 10, 'Telstra AS1221', '1.120.0 1.136.38 1.152.76 1.159.33 58.171.145 60.231.161 101.161.14 101.165.130')),
  home(3, place('jp-tokyo', 'JP', 'Tokyo', [35.68, 139.68], 9, 'KDDI AS2516 / NTT OCN AS4713', '27.82.118 27.91.19 27.114.80 58.89.85 58.91.193 58.93.84 58.94.107 59.128.196')),
  home(2, place('kr-seoul', 'KR', 'Seoul', [37.57, 126.98], 9, 'Korea Telecom AS4766', '1.231.194 14.33.19 14.36.161 14.38.1 14.39.17 14.40.32 14.52.0 39.7.12')),
  home(2, place('sg-singapore', 'SG', 'Singapore', [1.33, 103.9], 8, 'Singtel AS9506/AS3758', '14.100.0 42.60.0 42.61.0 101.78.80 115.42.128 115.66.20 116.12.128 116.14.0')),
  home(2, place('in-hyderabad', 'IN', 'Hyderabad', [17.38, 78.46], 5.5, 'Bharti Airtel AS24560', '27.57.80 106.203.192 106.205.16 106.212.224 106.214.0 106.222.228 110.226.144 117.98.200')),
  home(1, place('in-pune', 'IN', 'Pune', [18.52, 73.85], 5.5, 'Bharti Airtel AS24560', '106.201.208 106.205.0 106.213.64 106.214.32 106.215.176 110.224.192 110.227.208 122.167.114')),
  home(2, place('br-saopaulo', 'BR', 'Sao Paulo', [-23.55, -46.64], -3, 'Telefonica Brasil AS27699/AS18881', '152.249.7 152.250.3 152.254.129 177.9.0 177.18.43 177.25.84 177.27.199 177.41.14')),
  home(1, place('br-rio', 'BR', 'Rio de Janeiro', [-22.91, -43.19], -3, 'Claro AS28573', '177.142.8 177.192.0 179.158.7 179.210.8 179.218.9 186.205.14 186.221.5 187.67.3')),
  home(2, place('mx-cdmx', 'MX', 'Mexico City', [19.37, -99.18], -6, 'Telmex AS8151', '148.207.96 148.233.160 187.130.0 187.141.0 187.142.228 187.168.0 187.170.1 187.174.114')),
  home(1, place('za-johannesburg', 'ZA', 'Johannesburg', [-26.23, 28.06], 2, 'Telkom SA AS37457', '41.145.144 41.147.192 41.149.64 41.150.32 102.253.0 102.254.0 105.184.60 105.185.134')),
];

/** Residential blocks elsewhere: trip destinations and attackers' home networks. */
// biome-ignore format: the address book reads as a table
export const OTHER_CITIES: readonly Place[] = [
  place('pt-lisbon', 'PT', 'Lisbon', [38.72, -9.14], 0, 'MEO AS3243', '81.193.21 82.154.0 85.241.240 85.242.77 85.243.162 85.244.123 85.245.53 85.246.45'),
  place('gr-athens', 'GR', 'Athens', [37.98, 23.74], 2, 'OTE AS6799', '2.84.0 2.86.13 2.87.57 31.217.176 62.103.0 79.129.14 79.130.28 79.131.42'),
  place('nz-auckland', 'NZ', 'Auckland', [-36.85, 174.77], 12, 'Spark AS4771', '115.189.16 122.56.76 122.57.3 122.58.6 122.59.153 122.63.0 125.236.128 125.237.8'),
  place('ae-dubai', 'AE', 'Dubai', [25.07, 55.3], 4, 'Etisalat AS5384', '2.48.60 2.49.14 2.50.13 2.51.12 5.38.13 5.107.96 5.192.16 5.193.7'),
  place('th-bangkok', 'TH', 'Bangkok', [13.76, 100.51], 7, 'True/3BB/TOT', '27.55.64 27.145.18 49.49.213 49.237.0 58.8.60'),
  place('tr-istanbul', 'TR', 'Istanbul', [41.01, 28.95], 3, 'Turk Telekom AS9121', '62.248.0 78.160.96 78.161.2 78.162.98 78.163.104 78.165.34 78.167.16 78.168.46'),
  place('ar-buenosaires', 'AR', 'Buenos Aires', [-34.61, -58.38], -3, 'Telecom Argentina AS7303', '24.232.0 152.168.0 152.169.194 152.170.208 152.171.132 181.0.228 181.2.145 181.3.29'),
  place('ng-lagos', 'NG', 'Lagos', [6.45, 3.39], 1, 'MTN/Airtel Nigeria', '41.203.64 102.88.62 102.89.23 105.112.8 105.113.49 105.115.14 105.127.6 129.205.96'),
  place('ru-moscow', 'RU', 'Moscow', [55.75, 37.62], 3, 'Rostelecom/MTS', '2.94.148 5.142.36 37.190.48 46.61.192 46.138.0 78.107.225'),
  place('vn-hanoi', 'VN', 'Hanoi', [21.02, 105.85], 7, 'VNPT/Viettel', '14.160.0 14.162.123 14.171.105 14.177.93 14.180.87 14.189.69 14.224.129 14.226.0'),
  place('id-jakarta', 'ID', 'Jakarta', [-6.21, 106.84], 7, 'Telkom Indonesia AS7713', '36.90.67 61.5.16 61.94.162'),
  place('ro-bucharest', 'RO', 'Bucharest', [44.42, 26.17], 2, 'RCS&RDS AS8708', '5.2.128 5.12.0 5.13.224 5.14.133 5.15.222 62.231.96 79.114.133 79.115.24'),
  place('ua-kyiv', 'UA', 'Kyiv', [50.46, 30.53], 2, 'Kyivstar/Ukrtelecom', '5.248.162 37.52.240 37.54.4 37.55.192 37.115.192 46.118.224 46.119.52 46.185.13'),
  place('ph-manila', 'PH', 'Manila', [14.56, 121.03], 8, 'PLDT AS9299', '49.144.93 58.69.0 112.200.94 112.202.5 112.203.31 112.204.198 112.205.177'),
  place('cn-shanghai', 'CN', 'Shanghai', [31.22, 121.46], 8, 'China Telecom Shanghai', '58.32.0 58.33.17 58.34.34 58.35.12'),
  place('pk-karachi', 'PK', 'Karachi', [24.86, 67.0], 5, 'PTCL AS17557', '39.39.72 39.48.204 39.51.16 39.53.200 39.57.104 39.61.124 116.71.96 119.155.48'),
];

/** Where honest people travel to: every home city and the other residential places above. */
const TRIP_DESTINATIONS: readonly Place[] = [
  ...HOME_CITIES,
  ...OTHER_CITIES.filter((p) => ['PT', 'GR', 'NZ', 'AE', 'TH', 'TR', 'AR'].includes(p.country)),
];

/** Residential networks attackers use from their own countries. */
const ATTACKER_CITIES: readonly Place[] = OTHER_CITIES.filter((p) =>
  ['NG', 'RU', 'VN', 'ID', 'RO', 'UA', 'PH', 'CN', 'PK', 'TR', 'BR', 'AR'].includes(p.country),
).concat(HOME_CITIES.filter((p) => ['BR', 'IN', 'MX'].includes(p.country)));

/** Hosting and VPN networks (the ASN data classifies every one as hosting). */
// biome-ignore format: the address book reads as a table
export const HOSTING_NETWORKS: readonly Place[] = [
  place('aws-ashburn', 'US', 'Ashburn', [39.05, -77.49], -5, 'Amazon AS16509/AS14618', '3.2.64 3.3.19 3.4.9 3.33.44 3.41.128 3.80.0 3.81.59', true),
  place('aws-boardman', 'US', 'Boardman', [45.84, -119.71], -8, 'Amazon AS16509', '3.2.68 3.4.3 3.33.40 3.42.132 15.129.40 15.177.16', true),
  place('aws-dublin', 'IE', 'Dublin', [53.34, -6.25], 0, 'Amazon AS16509', '3.2.79 3.40.128 3.248.31 3.249.27 3.250.23 3.251.19 3.252.15', true),
  place('aws-frankfurt', 'DE', 'Frankfurt am Main', [50.12, 8.68], 1, 'Amazon AS16509', '3.2.70 3.40.0 3.64.59 3.65.77 3.66.95 3.67.113 3.68.131', true),
  place('aws-singapore', 'SG', 'Singapore', [1.29, 103.85], 8, 'Amazon AS16509', '3.0.0 3.1.0 3.2.76 3.44.4 13.144.33 13.212.10 13.213.39', true),
  place('do-nyc', 'US', 'North Bergen', [40.8, -74.02], -5, 'DigitalOcean AS14061', '24.144.64 24.199.64 45.55.33 64.225.0 64.227.0 67.205.128 67.207.80 68.183.18', true),
  place('do-sfo', 'US', 'Santa Clara', [37.39, -121.96], -8, 'DigitalOcean AS14061', '24.144.68 24.199.68 64.23.128 64.225.32 64.227.48 68.183.162 104.248.66 128.199.0', true),
  place('do-ams', 'NL', 'Amsterdam', [52.35, 4.94], 1, 'DigitalOcean AS14061', '5.101.96 24.144.76 37.139.0 64.225.64 64.227.64 68.183.0 80.240.128 82.196.0', true),
  place('do-fra', 'DE', 'Frankfurt am Main', [50.12, 8.68], 1, 'DigitalOcean AS14061', '5.101.109 46.101.69 64.225.92 64.226.64 64.227.112 67.207.72 68.183.66 104.248.18', true),
  place('do-lon', 'GB', 'Slough', [51.52, -0.62], 0, 'DigitalOcean AS14061', '46.101.0 64.227.32 67.207.68 68.183.33 104.248.162 129.212.160 134.122.96 134.209.18', true),
  place('ovh-fr', 'FR', 'Gravelines', [50.99, 2.13], 1, 'OVH AS16276', '5.135.189 46.105.213 51.68.90 51.77.255 51.210.183 54.37.254', true),
  place('ovh-ca', 'CA', 'Beauharnois', [45.32, -73.87], -5, 'OVH AS16276', '51.79.21 51.161.15 54.39.12 66.70.176', true),
  place('hetzner-de', 'DE', 'Falkenstein', [50.48, 12.36], 1, 'Hetzner AS24940', '5.75.208 23.88.0 46.4.33 46.224.0 46.225.150 49.12.35 49.13.3', true),
  place('hetzner-fi', 'FI', 'Helsinki', [60.17, 24.93], 2, 'Hetzner AS24940', '37.27.0 46.62.128 62.238.0 65.21.0 65.108.0 65.109.3 77.42.0', true),
  place('linode-us', 'US', 'Cedar Knolls', [40.82, -74.46], -5, 'Linode (Akamai) AS63949', '23.92.16 23.239.8 45.33.64 45.56.96 45.79.128 50.116.48 66.175.208 66.228.32', true),
  place('vultr-us', 'US', 'Piscataway', [40.5, -74.4], -5, 'Vultr AS20473', '45.32.0 45.63.0 45.76.0 45.77.101 64.176.192 64.237.32 66.55.128 66.135.0', true),
  place('m247-ams', 'NL', 'Amsterdam', [52.37, 4.89], 1, 'M247 AS9009 (VPN exits)', '2.57.251 2.58.44 37.120.141 45.84.121 45.134.150 77.83.46 77.243.180 79.110.52', true),
  place('m247-lon', 'GB', 'London', [51.51, -0.13], 0, 'M247 AS9009 (VPN exits)', '5.61.62 5.253.45 38.180.8 45.9.6 45.59.22 45.66.154 45.85.127 45.89.251', true),
  place('m247-nyc', 'US', 'New York', [40.72, -74.0], -5, 'M247 AS9009 (VPN exits)', '5.181.234 23.249.172 31.13.189 37.120.138 37.221.115 38.132.96 38.180.6 38.244.196', true),
  place('m247-lax', 'US', 'Los Angeles', [34.05, -118.24], -8, 'M247 AS9009 (VPN exits)', '23.230.181 37.120.132 38.95.108 38.132.115 38.200.4 38.201.192 38.202.0 38.203.128', true),
  place('cdn77-fra', 'DE', 'Frankfurt am Main', [50.12, 8.68], 1, 'Datacamp/CDN77 AS60068 (VPN exits)', '37.19.194 45.136.153 79.127.210 87.249.129 89.187.169 89.222.108 109.61.80 138.199.36', true),
  place('cdn77-nyc', 'US', 'New York', [40.71, -74.01], -5, 'Datacamp/CDN77 AS60068 (VPN exits)', '79.127.206 84.17.35 89.187.176 89.222.107 95.173.206 138.199.40 152.233.10 156.146.36', true),
];

/** Commercial VPN exits (a subset of `HOSTING_NETWORKS`). */
const VPN_EXITS = HOSTING_NETWORKS.filter((p) => p.key.startsWith('m247-') || p.key.startsWith('cdn77-'));
/** Where stuffing campaigns run from. */
const STUFFING_HOSTS = HOSTING_NETWORKS.filter((p) => !VPN_EXITS.includes(p));

const carrier = (key: string, country: string, network: string, blocks: string): Carrier => ({
  key,
  country,
  network,
  blocks: blocks.split(' '),
});

/** Mobile carriers by country; a person's phone goes through two of their carrier's gateway blocks. */
// biome-ignore format: the address book reads as a table
export const CARRIERS: readonly Carrier[] = [
  carrier('us-tmobile', 'US', 'T-Mobile AS21928', '23.18.0 24.221.0 52.144.16 64.133.0 65.76.0 66.94.0 68.24.0 68.25.23 68.26.15 68.27.7'),
  carrier('us-verizon', 'US', 'Verizon Wireless AS22394/AS6167', '63.40.0 63.41.20 63.42.17 63.43.14 63.44.11 63.45.8 63.46.0 63.47.3 63.54.0 63.55.3'),
  carrier('us-att', 'US', 'AT&T Mobility AS20057', '12.72.0 12.73.4 66.102.186 70.144.0 107.72.162 107.77.64 107.80.0 107.81.3 107.84.0 107.85.2'),
  carrier('de-o2', 'DE', 'Telefonica Germany AS6805', '2.208.0 2.209.23 2.210.15 2.211.7 2.212.30 2.213.22 2.214.14 2.215.6 2.240.0 2.241.23'),
  carrier('gb-vodafone', 'GB', 'Vodafone UK AS25135', '85.255.232 88.82.0 89.104.32 148.252.128 185.69.144 194.62.232 212.183.128'),
  carrier('gb-three', 'GB', 'Three UK AS206067', '92.40.0 92.41.3 94.196.0 94.197.3 188.28.0 188.29.14 188.30.13 188.31.12'),
  carrier('fr-free', 'FR', 'Free Mobile AS51207', '37.1.232 37.164.47 37.165.43 37.166.39 37.167.35 37.168.31 37.169.27 37.170.23 37.171.19'),
  carrier('fr-bouygues', 'FR', 'Bouygues Telecom AS5410', '5.48.0 5.49.14 5.50.13 5.51.12 31.32.0 31.33.23 31.34.15 31.35.7 31.36.30 31.37.22'),
  carrier('es-vodafone', 'ES', 'Vodafone Spain AS12430', '2.155.0 5.224.0 5.225.3 31.4.0 37.222.0 37.223.3 46.24.0 46.25.1 46.26.2 46.27.4'),
  carrier('it-vodafone', 'IT', 'Vodafone Italy AS30722', '2.32.0 2.33.17 2.34.13 2.35.9 2.36.5 2.37.1 2.38.24 2.39.20 2.40.16 2.41.12'),
  carrier('nl-vodafone', 'NL', 'Vodafone NL AS33915', '5.199.188 24.132.0 31.136.0 31.137.14 31.138.13 31.139.12 31.151.0 37.235.8 46.29.240 46.129.0'),
  carrier('au-optus', 'AU', 'Optus AS4804', '1.40.0 1.41.14 1.42.13 1.43.12 1.44.24 27.99.0 27.253.0 42.241.0 49.2.0'),
  carrier('jp-kddi', 'JP', 'KDDI AS2516', '14.8.0 14.9.19 14.10.13 14.11.7 14.12.1 14.13.20 14.14.14 14.101.0'),
  carrier('jp-softbank', 'JP', 'SoftBank AS17676', '1.112.0 1.113.14 1.114.13 1.115.12 36.240.0 36.241.23 36.242.15 36.243.7 36.244.30 36.245.22'),
  carrier('kr-skt', 'KR', 'SK Telecom AS9644', '27.160.0 27.161.29 27.162.58 27.163.87 27.164.21 27.165.50 27.166.79 27.167.13 27.168.42 27.169.71'),
  carrier('ca-rogers', 'CA', 'Rogers AS812', '23.155.64 24.102.0 24.114.0 24.137.48 24.153.0 24.156.128'),
  carrier('se-tele2', 'SE', 'Tele2 AS1257', '31.15.32 37.2.0 37.3.3 37.196.0 37.197.14 37.198.13 37.199.12 37.233.64 46.17.184 62.65.0'),
  carrier('ch-sunrise', 'CH', 'Sunrise AS6730', '31.10.128 31.164.0 31.165.3 46.126.0 46.127.3 46.140.0 62.2.0 62.167.0'),
];

const PLACES: ReadonlyMap<string, Place> = new Map(
  [...HOME_CITIES, ...OTHER_CITIES, ...HOSTING_NETWORKS].map((p) => [p.key, p]),
);

// ---------------------------------------------------------------------------------------------------
// Devices: components as the sign-in page sends them (16 hex characters each, volatile ones excluded).

const COMPONENTS = [
  'audio.sampleHash',
  'audio.maxChannels',
  'audio.channelCountMode',
  'canvas',
  'fonts',
  'hardware.videocard',
  'hardware.architecture',
  'hardware.deviceMemory',
  'hardware.jsHeapSizeLimit',
  'locales.languages',
  'math',
  'plugins',
  'screen.is_touchscreen',
  'screen.maxTouchPoints',
  'screen.colorDepth',
  'screen.mediaMatches',
  'speech',
  'system.platform',
  'system.cookieEnabled',
  'system.productSub',
  'system.product',
  'system.applePayVersion',
  'system.browser.name',
  'system.hardwareConcurrency',
  'webgl',
  'webrtc',
] as const;

/**
 * Components that differ between two units of one model. Desktops differ in GPU, fonts, memory and
 * settings (two units share 15 of 26 components); phones of one model much less (20 of 26: still
 * under the 0.8 fuzzy-match threshold, but not by much).
 */
const UNIT_COMPONENTS = {
  desktop: [
    'canvas',
    'fonts',
    'hardware.videocard',
    'hardware.deviceMemory',
    'hardware.jsHeapSizeLimit',
    'locales.languages',
    'plugins',
    'screen.mediaMatches',
    'speech',
    'system.hardwareConcurrency',
    'webgl',
  ],
  mobile: ['canvas', 'fonts', 'hardware.deviceMemory', 'locales.languages', 'screen.mediaMatches', 'speech'],
} as const;

/** Components a browser update may change (rendering and audio stacks). */
const UPDATE_COMPONENTS = ['canvas', 'webgl', 'math', 'audio.sampleHash', 'fonts'] as const;

type Form = 'desktop' | 'mobile';

interface TemplateSpec {
  name: string;
  form: Form;
  /** Browser version the period starts at (bumped by updates). */
  version: number;
  ua: (version: number) => string;
}

// biome-ignore format: the templates read as a table
const TEMPLATE_SPECS: readonly TemplateSpec[] = [
  { name: 'win-chrome', form: 'desktop', version: 131, ua: (v) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36` },
  { name: 'win-edge', form: 'desktop', version: 131, ua: (v) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36 Edg/${v}.0.2903.86` },
  { name: 'win-firefox', form: 'desktop', version: 133, ua: (v) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0` },
  { name: 'mac-safari', form: 'desktop', version: 3, ua: (v) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.${v} Safari/605.1.15` },
  { name: 'mac-chrome', form: 'desktop', version: 131, ua: (v) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36` },
  { name: 'linux-firefox', form: 'desktop', version: 133, ua: (v) => `Mozilla/5.0 (X11; Linux x86_64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0` },
  { name: 'iphone-safari', form: 'mobile', version: 3, ua: (v) => `Mozilla/5.0 (iPhone; CPU iPhone OS 18_${v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.${v} Mobile/15E148 Safari/604.1` },
  { name: 'android-chrome', form: 'mobile', version: 131, ua: (v) => `Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Mobile Safari/537.36` },
  { name: 'ipad-safari', form: 'mobile', version: 3, ua: (v) => `Mozilla/5.0 (iPad; CPU OS 18_${v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.${v} Mobile/15E148 Safari/604.1` },
  { name: 'headless-chrome', form: 'desktop', version: 131, ua: (v) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/${v}.0.0.0 Safari/537.36` },
];

type TemplateName = (typeof TEMPLATE_SPECS)[number]['name'];

interface Template extends TemplateSpec {
  /** The model's shared component hashes. */
  shared: Readonly<Record<string, string>>;
}

/** One browser on one device, as it changes over the period. */
interface Device {
  template: Template;
  role: 'computer' | 'phone' | 'tablet';
  components: Record<string, string>;
  version: number;
  nextUpdateAt: number;
  /** In use from (inclusive) until (exclusive). */
  from: number;
  until: number;
  used: boolean;
  /** A privacy extension or strict setting blocks the fingerprint script: no device payload is sent. */
  blocksFingerprint: boolean;
}

/** The page's device payload: the thumbmark is a hash of the components (32 hex, like ThumbmarkJS's). */
function devicePayload(components: Readonly<Record<string, string>>): {
  thumbmark: string;
  components: Record<string, string>;
} {
  const sorted = Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
  return { thumbmark: createHash('md5').update(JSON.stringify(sorted)).digest('hex'), components: sorted };
}

// ---------------------------------------------------------------------------------------------------
// Randomness.

/** A seeded stream of random choices. */
class Random {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  float(): number {
    return this.#next();
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.#next();
  }

  int(min: number, max: number): number {
    return Math.floor(this.between(min, max + 1));
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Nothing to pick from.');
    return items[Math.floor(this.#next() * items.length)]!;
  }

  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const total = items.reduce((sum, item) => sum + weight(item), 0);
    let x = this.#next() * total;
    for (const item of items) {
      x -= weight(item);
      if (x < 0) return item;
    }
    return items[items.length - 1]!;
  }

  sample<T>(items: readonly T[], n: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.#next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }

  normal(): number {
    const u = 1 - this.#next();
    const v = this.#next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.#next());
  }

  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.#next();
    while (p > limit) {
      k++;
      p *= this.#next();
    }
    return k;
  }

  hex(chars: number): string {
    let out = '';
    while (out.length < chars)
      out += Math.floor(this.#next() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, chars);
  }
}

/** A seed for an independent stream (`seed`, a stream tag and an index, mixed). */
function streamSeed(seed: number, stream: number, index = 0): number {
  let h = (seed ^ Math.imul(stream, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

const STREAM = { templates: 1, person: 2, typing: 3, attacks: 4 } as const;

// ---------------------------------------------------------------------------------------------------
// Traffic.

/** Legitimate sign-ins, by what makes them look new. */
export const LEGIT_KINDS = [
  'legit.first',
  'legit.home',
  'legit.cellular',
  'legit.new_device',
  'legit.trip',
  'legit.vpn',
] as const;
export type LegitKind = (typeof LEGIT_KINDS)[number];

/** Attacks. */
export const ATTACK_KINDS = [
  'attack.stuffing',
  'attack.takeover',
  'attack.impossible_travel',
  'attack.session_replay',
  'attack.scripted',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

export type TrafficKind = LegitKind | AttackKind;

/** Where an attempt's address comes from: what `verifyTrafficAddresses` checks. */
export interface AddressSource {
  /** A place key (`HOME_CITIES`, `OTHER_CITIES`, `HOSTING_NETWORKS`) or a carrier key (`CARRIERS`). */
  from: string;
  country: string;
  hosting: boolean;
  /** Placed at city level near the place (residential and hosting blocks; not carriers). */
  cityLevel: boolean;
}

/** One attempt of the traffic with its ground truth. */
export interface LabelledAttempt {
  attempt: SimulatedAttempt;
  kind: TrafficKind;
  attack: boolean;
  /** In the warm-up period (the first `warmupDays`). */
  warmup: boolean;
  source?: AddressSource;
  /** What varies within the kind (e.g. `factor=recovery origin=hosting`). */
  detail?: string;
}

/** How much traffic, over what period. */
export interface TrafficOptions {
  /** Default 1. */
  seed?: number;
  /** Default 200. */
  people?: number;
  /** Default 60. */
  days?: number;
  /** Epoch ms of the first day (UTC midnight). Default 2 March 2026. */
  start?: number;
  /** Default 14. */
  warmupDays?: number;
  /**
   * Attacks of each kind (stuffing: campaigns). Default per 200 people: 4 stuffing campaigns, 30 of
   * every other kind.
   */
  attacks?: Partial<Record<AttackKind, number>>;
}

export type TrafficSettings = Required<Omit<TrafficOptions, 'attacks'>> & {
  attacks: Record<AttackKind, number>;
};

/** A simulated person, as the evaluation reports them. */
export interface PersonSummary {
  key: string;
  username: string;
  home: string;
  country: string;
  joinedAt: number;
  devices: number;
  hardwareKey: boolean;
  trips: number;
  traveller: boolean;
  vpn: boolean;
  carrier: string | null;
  newPhone: boolean;
}

/** Generated traffic: the settings, the people, and the attempts in time order. */
export interface Traffic {
  settings: TrafficSettings;
  people: PersonSummary[];
  attempts: LabelledAttempt[];
}

interface Trip {
  dest: Place;
  leave: number;
  arrive: number;
  leaveBack: number;
  arriveBack: number;
  hotel: string;
  laptop: boolean;
}

/** A legitimate successful sign-in, as attacks anchor on it. */
interface SignInRecord {
  at: number;
  atHome: boolean;
  userAgent: string;
  template: Template;
  assurance: SimulatedAssurance;
}

interface Person {
  index: number;
  key: string;
  username: string;
  phrase: TypingPhrase;
  home: HomeCity;
  homeIp: string;
  homeIpUntil: number;
  devices: Device[];
  hardwareKey: boolean;
  /** Sign-ins per weekday. */
  rate: number;
  /** Habitual local hours. */
  peaks: number[];
  joinAt: number;
  traveller: boolean;
  vpn: boolean;
  carrier: { carrier: Carrier; gateways: string[] } | undefined;
  typing: Record<Form | 'impostor', number[][]>;
  typed: Record<Form | 'impostor', number>;
  trips: Trip[];
  newPhone: boolean;
  signIns: SignInRecord[];
}

// biome-ignore format: a list of names
const FIRST_NAMES = [
  'anna', 'ben', 'carla', 'david', 'elena', 'felix', 'grace', 'hiro', 'ines', 'jonas', 'kara', 'liam',
  'maya', 'noah', 'olga', 'pablo', 'quinn', 'rosa', 'sven', 'tara', 'umar', 'vera', 'wei', 'xena',
  'yusuf', 'zoe', 'amir', 'bea', 'chen', 'dina', 'emil', 'fatima', 'goran', 'hana', 'ivan', 'julia',
  'kenji', 'lena', 'marco', 'nadia', 'oscar', 'priya', 'rahul', 'sara', 'tomas', 'ana', 'luca', 'mei',
];
// biome-ignore format: a list of names
const LAST_NAMES = [
  'smith', 'muller', 'garcia', 'rossi', 'martin', 'kim', 'tanaka', 'silva', 'novak', 'jensen', 'patel',
  'nguyen', 'cohen', 'dubois', 'schmidt', 'lopez', 'brown', 'wang', 'singh', 'olsen', 'fischer',
  'moreau', 'costa', 'weber', 'sato', 'khan', 'berg', 'lindqvist', 'murphy', 'kowalski',
];

function makeUsername(r: Random, taken: Set<string>): string {
  for (;;) {
    const first = r.pick(FIRST_NAMES);
    const last = r.pick(LAST_NAMES);
    const style = r.int(0, 3);
    const name =
      style === 0
        ? `${first}.${last}`
        : style === 1
          ? `${first}${last[0]}`
          : style === 2
            ? `${first[0]}${last}${r.int(1, 99)}`
            : `${first}_${last}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

function buildTemplates(seed: number): Map<TemplateName, Template> {
  const r = new Random(streamSeed(seed, STREAM.templates));
  return new Map(
    TEMPLATE_SPECS.map((spec) => [
      spec.name,
      { ...spec, shared: Object.fromEntries(COMPONENTS.map((name) => [name, r.hex(16)])) },
    ]),
  );
}

function newDevice(
  r: Random,
  template: Template,
  role: Device['role'],
  from: number,
  until = Number.POSITIVE_INFINITY,
): Device {
  const components: Record<string, string> = { ...template.shared };
  for (const name of UNIT_COMPONENTS[template.form]) components[name] = r.hex(16);
  return {
    template,
    role,
    components,
    version: template.version + r.int(0, 1),
    nextUpdateAt: from + r.between(3, 30) * DAY,
    from,
    until,
    used: false,
    blocksFingerprint: r.chance(0.03),
  };
}

/** Browser updates up to `at`: a new version, and now and then a changed rendering component. */
function updateDevice(r: Random, device: Device, at: number): void {
  while (at >= device.nextUpdateAt) {
    device.version++;
    if (r.chance(0.5)) device.components[r.pick(UPDATE_COMPONENTS)] = r.hex(16);
    device.nextUpdateAt += r.between(25, 35) * DAY;
  }
}

/** The address `block.host` with a host in 2-253. */
function hostIn(r: Random, block: string): string {
  return `${block}.${r.int(2, 253)}`;
}

function addressAt(r: Random, p: Place): { ip: string; source: AddressSource } {
  return {
    ip: hostIn(r, r.pick(p.blocks)),
    source: { from: p.key, country: p.country, hosting: p.hosting, cityLevel: true },
  };
}

function carrierAddress(
  r: Random,
  c: { carrier: Carrier; gateways: string[] },
): { ip: string; source: AddressSource } {
  return {
    ip: hostIn(r, r.pick(c.gateways)),
    source: { from: c.carrier.key, country: c.carrier.country, hosting: false, cityLevel: false },
  };
}

function distanceKm(a: Place, b: Place): number {
  return haversineKm(a, b);
}

/** Wall-clock hours of a flight between two places (cruise ~800 km/h plus taxi and climb). */
function flightHours(a: Place, b: Place): number {
  return distanceKm(a, b) / 800 + 0.75;
}

function resolveSettings(options: TrafficOptions): TrafficSettings {
  const people = options.people ?? 200;
  const scale = people / 200;
  const per = (n: number) => Math.max(1, Math.round(n * scale));
  return {
    seed: options.seed ?? 1,
    people,
    days: options.days ?? 60,
    start: options.start ?? Date.UTC(2026, 2, 2),
    warmupDays: options.warmupDays ?? 14,
    attacks: {
      'attack.stuffing': per(4),
      'attack.takeover': per(30),
      'attack.impossible_travel': per(30),
      'attack.session_replay': per(30),
      'attack.scripted': per(30),
      ...options.attacks,
    },
  };
}

function makePerson(
  index: number,
  s: TrafficSettings,
  templates: Map<TemplateName, Template>,
  taken: Set<string>,
): Person {
  const r = new Random(streamSeed(s.seed, STREAM.person, index));
  const end = s.start + s.days * DAY;
  const username = makeUsername(r, taken);
  const phrase = usernamePhrase(username);
  const homeCity = r.weighted(HOME_CITIES, (c) => c.weight);
  // Most people exist before the period starts; some sign up during it.
  const joinAt = Math.round(
    r.chance(0.85) ? s.start + r.between(0, 3) * DAY : s.start + r.between(4, Math.max(5, s.days - 10)) * DAY,
  );
  const template = (name: TemplateName) => templates.get(name)!;
  const computer = r.weighted(
    ['win-chrome', 'win-edge', 'win-firefox', 'mac-safari', 'mac-chrome', 'linux-firefox'] as const,
    (n) =>
      ({
        'win-chrome': 35,
        'win-edge': 15,
        'win-firefox': 8,
        'mac-safari': 20,
        'mac-chrome': 17,
        'linux-firefox': 5,
      })[n],
  );
  const phone = r.chance(0.55) ? 'iphone-safari' : 'android-chrome';
  const devices: Device[] = [];
  const hasComputer = r.chance(0.92);
  const hasPhone = !hasComputer || r.chance(0.85);
  if (hasComputer) devices.push(newDevice(r, template(computer), 'computer', joinAt));
  let newPhone = false;
  if (hasPhone) {
    const swapAt = r.chance(0.2)
      ? joinAt + r.between(10, Math.max(11, (end - joinAt) / DAY - 2)) * DAY
      : undefined;
    devices.push(newDevice(r, template(phone), 'phone', joinAt, swapAt));
    if (swapAt !== undefined && swapAt < end) {
      newPhone = true;
      devices.push(newDevice(r, template(r.chance(0.8) ? phone : 'iphone-safari'), 'phone', swapAt));
    }
  }
  if (r.chance(0.15)) devices.push(newDevice(r, template('ipad-safari'), 'tablet', joinAt));
  if (hasComputer && r.chance(0.05)) {
    const at = joinAt + r.between(10, 40) * DAY;
    devices[0]!.until = at;
    devices.push(newDevice(r, template(computer), 'computer', at));
  }
  const carriers = CARRIERS.filter((c) => c.country === homeCity.country);
  const chosen = carriers.length > 0 ? r.pick(carriers) : undefined;
  const typingData = generateSyntheticKeystrokes({
    subjects: 3,
    sessions: 8,
    repsPerSession: 25,
    seed: streamSeed(s.seed, STREAM.typing, index),
    phrase,
  });
  const rows = (i: number) => typingData.subjects[i]!.rows.map((row) => row.features);
  const morning = 7.5 + 1.2 * r.normal();
  const evening = 20 + 1.5 * r.normal();
  const person: Person = {
    index,
    key: `person-${String(index + 1).padStart(3, '0')}`,
    username,
    phrase,
    home: homeCity,
    homeIp: hostIn(r, r.pick(homeCity.blocks)),
    homeIpUntil: joinAt + r.exponential(30) * DAY,
    devices,
    hardwareKey: r.chance(0.15),
    rate: Math.exp(r.between(Math.log(0.3), Math.log(2.2))),
    peaks: r.chance(0.5) ? [morning, evening] : [r.chance(0.5) ? morning : 13 + 2 * r.normal(), evening],
    joinAt,
    traveller: r.chance(0.25),
    vpn: r.chance(0.04),
    carrier: chosen ? { carrier: chosen, gateways: r.sample(chosen.blocks, 2) } : undefined,
    typing: { desktop: rows(0), mobile: rows(1), impostor: rows(2) },
    typed: { desktop: 0, mobile: 0, impostor: 0 },
    trips: [],
    newPhone,
    signIns: [],
  };
  person.trips = planTrips(r, person, end);
  return person;
}

function planTrips(r: Random, p: Person, end: number): Trip[] {
  const trips: Trip[] = [];
  const meanGapDays = p.traveller ? 14 : 75;
  let at = p.joinAt + 7 * DAY + r.exponential(meanGapDays) * DAY;
  while (at < end - DAY) {
    const domestic = HOME_CITIES.filter((c) => c.country === p.home.country && c.key !== p.home.key);
    const dest =
      domestic.length > 0 && r.chance(0.35)
        ? r.pick(domestic)
        : r.pick(TRIP_DESTINATIONS.filter((c) => c.country !== p.home.country));
    const hours = flightHours(p.home, dest);
    // Departure between 06:00 and 20:00 local time.
    const dayStart = Math.floor(at / DAY) * DAY;
    const leave = dayStart + (r.between(6, 20) - p.home.utcOffset) * HOUR;
    const arrive = leave + hours * HOUR;
    const leaveBack = arrive + r.between(2, 8) * DAY;
    const arriveBack = leaveBack + hours * HOUR;
    trips.push({
      dest,
      leave,
      arrive,
      leaveBack,
      arriveBack,
      hotel: hostIn(r, r.pick(dest.blocks)),
      laptop: r.chance(p.traveller ? 0.8 : 0.4),
    });
    at = arriveBack + r.exponential(meanGapDays) * DAY;
  }
  return trips;
}

function tripAt(p: Person, at: number): Trip | undefined {
  return p.trips.find((t) => t.arrive <= at && at < t.leaveBack);
}

function inFlight(p: Person, at: number): boolean {
  return p.trips.some((t) => (t.leave <= at && at < t.arrive) || (t.leaveBack <= at && at < t.arriveBack));
}

function wrapHours(hours: number): number {
  return ((hours % 24) + 24) % 24;
}

/** A typing payload from the person's next sample of this kind (the username as typed). */
function typingOf(r: Random, p: Person, kind: Form | 'impostor'): { keys: KeystrokeEvent[] } {
  const rows = p.typing[kind];
  const row = rows[p.typed[kind]++ % rows.length]!;
  return payloadFromVector(row, p.phrase, Math.round(r.between(800, 60_000) * 10) / 10);
}

interface SignInTime {
  at: number;
  airport?: 'leave' | 'arrive';
}

function signInTimes(r: Random, p: Person, s: TrafficSettings, end: number): SignInTime[] {
  const times: SignInTime[] = [{ at: p.joinAt }];
  for (let day = Math.floor((p.joinAt - s.start) / DAY); day < s.days; day++) {
    const dayStart = s.start + day * DAY;
    const weekday = new Date(dayStart).getUTCDay();
    const n = r.poisson(p.rate * (weekday === 0 || weekday === 6 ? 0.6 : 1));
    const offset = (tripAt(p, dayStart + 12 * HOUR)?.dest ?? p.home).utcOffset;
    for (let k = 0; k < n; k++) {
      const local = r.chance(0.03) ? r.between(0, 24) : wrapHours(r.pick(p.peaks) + 1.2 * r.normal());
      const at = Math.round(dayStart + (local - offset) * HOUR);
      if (at > p.joinAt && at < end && !inFlight(p, at)) times.push({ at });
    }
  }
  for (const trip of p.trips) {
    if (r.chance(0.4))
      times.push({ at: Math.round(trip.leave - r.between(1, 2.5) * HOUR), airport: 'leave' });
    if (r.chance(0.5))
      times.push({ at: Math.round(trip.arrive + r.between(0.5, 2) * HOUR), airport: 'arrive' });
  }
  return times.filter((t) => t.at >= p.joinAt && t.at < end).sort((a, b) => a.at - b.at);
}

function legitTraffic(p: Person, s: TrafficSettings): LabelledAttempt[] {
  const r = new Random(streamSeed(s.seed, STREAM.person, 100_000 + p.index));
  const end = s.start + s.days * DAY;
  const warmupEnd = s.start + s.warmupDays * DAY;
  const out: LabelledAttempt[] = [];
  for (const { at, airport } of signInTimes(r, p, s, end)) {
    const trip = airport === 'leave' ? undefined : tripAt(p, at);
    const available = p.devices.filter((d) => d.from <= at && at < d.until);
    const carried = available.filter(
      (d) => !(trip || airport) || d.role === 'phone' || (d.role === 'computer' && (trip?.laptop ?? false)),
    );
    const candidates = airport ? carried.filter((d) => d.role === 'phone') : carried;
    const pool = candidates.length > 0 ? candidates : available;
    if (pool.length === 0) continue;
    const device = r.weighted(pool, (d) => ({ computer: 0.55, phone: 0.35, tablet: 0.1 })[d.role]);
    updateDevice(r, device, at);

    let where: 'home' | 'cellular' | 'trip' | 'vpn' = 'home';
    let network: { ip: string; source: AddressSource };
    if (at >= p.homeIpUntil) {
      p.homeIp = hostIn(r, r.pick(p.home.blocks));
      p.homeIpUntil = at + r.exponential(30) * DAY;
    }
    const homeNetwork = {
      ip: p.homeIp,
      source: { from: p.home.key, country: p.home.country, hosting: false, cityLevel: true },
    };
    if (trip) {
      where = 'trip';
      // Roaming data is routed through the home carrier: the phone appears in its home country.
      network =
        device.role === 'phone' && p.carrier && r.chance(0.35)
          ? carrierAddress(r, p.carrier)
          : {
              ip: trip.hotel,
              source: { from: trip.dest.key, country: trip.dest.country, hosting: false, cityLevel: true },
            };
    } else if (airport === 'leave') {
      where = p.carrier ? 'cellular' : 'home';
      network = p.carrier ? carrierAddress(r, p.carrier) : addressAt(r, p.home);
    } else if (device.role === 'computer' && p.vpn && r.chance(0.35)) {
      where = 'vpn';
      const sameCountry = VPN_EXITS.filter((v) => v.country === p.home.country);
      network = addressAt(r, r.pick(sameCountry.length > 0 && r.chance(0.7) ? sameCountry : VPN_EXITS));
    } else if (device.role === 'phone' && p.carrier && r.chance(0.25)) {
      where = 'cellular';
      network = carrierAddress(r, p.carrier);
    } else {
      network = homeNetwork;
    }

    const first = out.every((o) => o.attempt.outcome === 'failure');
    const kind: LegitKind = first
      ? 'legit.first'
      : !device.used
        ? 'legit.new_device'
        : where === 'trip'
          ? 'legit.trip'
          : where === 'vpn'
            ? 'legit.vpn'
            : where === 'cellular'
              ? 'legit.cellular'
              : 'legit.home';
    device.used = true;
    const form = device.template.form;
    const typing = r.chance(form === 'desktop' ? 0.3 : 0.5) ? undefined : typingOf(r, p, form);
    const assurance =
      p.hardwareKey && device.role === 'computer' && r.chance(0.4) ? HARDWARE_PASSKEY : SYNCED_PASSKEY;
    const userAgent = device.template.ua(device.version);
    const base: SimulatedAttempt = {
      personKey: p.key,
      username: p.username,
      at,
      ip: network.ip,
      userAgent,
      ...(device.blocksFingerprint ? {} : { device: devicePayload(device.components) }),
      outcome: 'success',
      hardwareKeyEnrolled: p.hardwareKey,
      completesStepUp: true,
      label: kind,
    };
    const labelled = (attempt: SimulatedAttempt): LabelledAttempt => ({
      attempt,
      kind,
      attack: false,
      warmup: attempt.at < warmupEnd,
      source: network.source,
      detail: `device=${device.template.name} where=${where}`,
    });
    // A failed try first now and then (the wrong passkey picked, an authenticator error).
    if (r.chance(0.015)) {
      out.push(labelled({ ...base, at: Math.round(at - r.between(20, 90) * 1000), outcome: 'failure' }));
    }
    out.push(labelled({ ...base, assurance, ...(typing ? { typing } : {}) }));
    p.signIns.push({ at, atHome: where === 'home', userAgent, template: device.template, assurance });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Attacks.

interface AttackContext {
  r: Random;
  s: TrafficSettings;
  people: Person[];
  templates: Map<TemplateName, Template>;
  from: number;
  end: number;
  out: LabelledAttempt[];
}

/** People who joined at least two weeks before `at`. */
function established(c: AttackContext, at: number): Person[] {
  return c.people.filter((p) => p.joinAt <= at - 14 * DAY);
}

/** A fingerprint of a fresh unit of a model (an attacker's browser). */
function freshDevice(
  c: AttackContext,
  name: TemplateName,
): { thumbmark: string; components: Record<string, string> } {
  return devicePayload(newDevice(c.r, c.templates.get(name)!, 'computer', c.from).components);
}

function attackerUa(c: AttackContext, name: TemplateName): string {
  const t = c.templates.get(name)!;
  return t.ua(t.version + c.r.int(0, 2));
}

/** A time in the attacker's daytime on the day of `around`, inside the attack window. */
function attackerDaytime(c: AttackContext, around: number, origin: Place): number {
  const dayStart = Math.floor(around / DAY) * DAY;
  const at = Math.round(dayStart + (c.r.between(8, 23) - origin.utcOffset) * HOUR);
  return Math.min(c.end - HOUR, Math.max(c.from, at));
}

function pushAttack(
  c: AttackContext,
  kind: AttackKind,
  attempt: SimulatedAttempt,
  source: AddressSource | undefined,
  detail: string,
): void {
  c.out.push({
    attempt: { ...attempt, label: kind },
    kind,
    attack: true,
    warmup: false,
    ...(source ? { source } : {}),
    detail,
  });
}

function victimFields(p: Person): Pick<SimulatedAttempt, 'personKey' | 'username' | 'hardwareKeyEnrolled'> {
  return { personKey: p.key, username: p.username, hardwareKeyEnrolled: p.hardwareKey };
}

/** Residential places in other countries than `country`, at least `minKm` from `from`. */
function foreignResidential(country: string, from?: Place, minKm = 0): Place[] {
  return [...ATTACKER_CITIES, ...HOME_CITIES].filter(
    (p) => p.country !== country && (!from || distanceKm(from, p) >= minKm),
  );
}

function stuffing(c: AttackContext, campaign: number): void {
  const { r } = c;
  const start = r.between(c.from, c.end - 3 * HOUR);
  const targets = r.sample(established(c, start), r.int(40, 80));
  // Every fourth campaign rotates through a residential proxy pool, slowly; the rest burst from hosting.
  const proxied = campaign % 4 === 3;
  const host = r.pick(STUFFING_HOSTS);
  const addresses = Array.from({ length: r.int(1, 3) }, () => addressAt(r, host));
  const headless = r.chance(0.5) ? freshDevice(c, 'headless-chrome') : undefined;
  const headlessUa = attackerUa(c, 'headless-chrome');
  let at = start;
  for (const victim of targets) {
    const tries = r.chance(0.2) ? 2 : 1;
    for (let k = 0; k < tries; k++) {
      at += (proxied ? r.between(30, 180) : r.between(8, 40)) * 1000;
      const network = proxied
        ? addressAt(
            r,
            r.chance(0.5)
              ? r.pick(HOME_CITIES.filter((h) => h.country === victim.home.country))
              : r.pick(HOME_CITIES),
          )
        : r.pick(addresses);
      const success = r.chance(0.03);
      pushAttack(
        c,
        'attack.stuffing',
        {
          ...victimFields(victim),
          at: Math.round(at),
          ip: network.ip,
          userAgent: proxied ? attackerUa(c, 'win-chrome') : headlessUa,
          ...(proxied ? { device: freshDevice(c, 'win-chrome') } : headless ? { device: headless } : {}),
          outcome: success ? 'success' : 'failure',
          action: 'recover',
          assurance: RECOVERY_CODE,
        },
        network.source,
        `campaign=${campaign + 1} via=${proxied ? 'residential-proxies' : host.key}${proxied || headless ? '' : ' no-fingerprint'}`,
      );
      if (success) break;
    }
  }
}

/** An attacker's origin abroad: residential (their own network) or a VPN/hosting address. */
function foreignOrigin(c: AttackContext, victim: Person, minKm: number, hostingShare: number) {
  const { r } = c;
  const hosting = HOSTING_NETWORKS.filter(
    (h) => h.country !== victim.home.country && distanceKm(victim.home, h) >= minKm,
  );
  const residential = foreignResidential(victim.home.country, victim.home, minKm);
  const useHosting = hosting.length > 0 && (residential.length === 0 || r.chance(hostingShare));
  const origin = r.pick(useHosting ? hosting : residential);
  return { origin, network: addressAt(r, origin), via: useHosting ? 'hosting' : 'residential' };
}

function takeover(c: AttackContext, kind: 'attack.takeover' | 'attack.impossible_travel'): void {
  const { r } = c;
  let victim: Person;
  let at: number;
  let origin: Place;
  let network: { ip: string; source: AddressSource };
  let via: string;
  if (kind === 'attack.impossible_travel') {
    const anchors = c.people.flatMap((p) =>
      p.signIns
        .filter((s) => s.atHome && s.at >= c.from && s.at < c.end - 2 * HOUR && p.joinAt <= s.at - 14 * DAY)
        .map((s) => ({ p, s })),
    );
    const anchor = r.pick(anchors);
    victim = anchor.p;
    at = Math.round(anchor.s.at + r.between(3, 90) * MINUTE);
    ({ origin, network, via } = foreignOrigin(c, victim, 2500, 0.3));
  } else {
    const around = r.between(c.from, c.end - HOUR);
    victim = r.pick(established(c, around));
    ({ origin, network, via } = foreignOrigin(c, victim, 0, 0.4));
    at = attackerDaytime(c, around, origin);
  }
  // A cloud account taken over hands the attacker the synced passkey; else a leaked recovery code.
  const recovery = r.chance(kind === 'attack.takeover' ? 0.5 : 0.3);
  const phone = r.chance(0.2);
  const template: TemplateName = phone ? 'android-chrome' : 'win-chrome';
  const typed = r.chance(0.6);
  const base: SimulatedAttempt = {
    ...victimFields(victim),
    at,
    ip: network.ip,
    userAgent: attackerUa(c, template),
    device: freshDevice(c, template),
    outcome: 'success',
    action: recovery ? 'recover' : 'sign_in',
    assurance: recovery ? RECOVERY_CODE : SYNCED_PASSKEY,
  };
  const detail = `factor=${recovery ? 'recovery' : 'synced-passkey'} origin=${origin.key} via=${via} typed=${typed}`;
  const wrong = recovery ? r.int(0, 2) : 0;
  for (let k = wrong; k > 0; k--) {
    pushAttack(
      c,
      kind,
      { ...base, at: Math.round(at - k * r.between(30, 120) * 1000), outcome: 'failure' },
      network.source,
      detail,
    );
  }
  pushAttack(
    c,
    kind,
    { ...base, ...(typed ? { typing: typingOf(r, victim, 'impostor') } : {}) },
    network.source,
    detail,
  );
}

function sessionReplay(c: AttackContext): void {
  const { r } = c;
  const anchors = c.people.flatMap((p) =>
    p.signIns
      .filter((s) => s.at >= c.from && s.at < c.end - HOUR && p.joinAt <= s.at - 14 * DAY)
      .map((s) => ({ p, s })),
  );
  const { p: victim, s: signIn } = r.pick(anchors);
  const at = Math.round(signIn.at + r.between(2, 45) * MINUTE);
  const roll = r.float();
  let network: { ip: string; source: AddressSource };
  let via: string;
  if (roll < 0.5) {
    // Infostealer kits sell sessions with a residential proxy in the victim's country.
    const sameCountry = HOME_CITIES.filter(
      (h) => h.country === victim.home.country && h.key !== victim.home.key,
    );
    network = addressAt(r, sameCountry.length > 0 ? r.pick(sameCountry) : victim.home);
    via = 'proxy-same-country';
  } else if (roll < 0.75) {
    network = addressAt(r, r.pick(HOSTING_NETWORKS));
    via = 'hosting';
  } else {
    network = addressAt(r, r.pick(foreignResidential(victim.home.country)));
    via = 'residential-abroad';
  }
  const copiesUa = r.chance(0.6);
  pushAttack(
    c,
    'attack.session_replay',
    {
      ...victimFields(victim),
      at,
      ip: network.ip,
      userAgent: copiesUa ? signIn.userAgent : attackerUa(c, 'win-chrome'),
      // An anti-detect browser posing as the victim's model still differs in its unit's components.
      device: freshDevice(c, copiesUa ? (signIn.template.name as TemplateName) : 'win-chrome'),
      outcome: 'success',
      action: 'factor.enrol',
      assurance: signIn.assurance,
    },
    network.source,
    `via=${via} ua=${copiesUa ? 'copied' : 'own'}`,
  );
}

type BotVariant = 'no_delay' | 'fixed_delay' | 'random_delay' | 'human_replay';

/** Keystrokes as automation sends them (times in ms, 0.1 ms resolution like a browser's clock). */
function botTyping(c: AttackContext, victim: Person, variant: BotVariant): { keys: KeystrokeEvent[] } {
  const { r } = c;
  if (variant === 'human_replay') return typingOf(r, victim, 'impostor');
  const round = (ms: number) => Math.round(ms * 10) / 10;
  let t = r.between(500, 5000);
  return {
    keys: phraseKeys(victim.phrase).map((key) => {
      // Puppeteer-style typing: keydown and keyup back to back, then the delay (if any).
      const hold = r.between(0.2, 1.2);
      const event = { key, down: round(t), up: round(t + hold) };
      const delay = variant === 'no_delay' ? 0 : variant === 'fixed_delay' ? 100 : r.between(50, 150);
      t += hold + delay + r.between(0.3, 2.5);
      return event;
    }),
  };
}

function scripted(c: AttackContext): void {
  const { r } = c;
  const around = r.between(c.from, c.end - HOUR);
  const victim = r.pick(established(c, around));
  const variant = r.weighted(
    ['no_delay', 'fixed_delay', 'random_delay', 'human_replay'] as const,
    (v) => ({ no_delay: 30, fixed_delay: 25, random_delay: 25, human_replay: 20 })[v],
  );
  const hosting = r.chance(0.5);
  const network = hosting
    ? addressAt(r, r.pick(STUFFING_HOSTS))
    : addressAt(r, r.pick(HOME_CITIES.filter((h) => h.country === victim.home.country)));
  const recovery = r.chance(0.5);
  const fingerprint = r.chance(0.7);
  pushAttack(
    c,
    'attack.scripted',
    {
      ...victimFields(victim),
      at: Math.round(around),
      ip: network.ip,
      userAgent: attackerUa(c, 'headless-chrome'),
      ...(fingerprint ? { device: freshDevice(c, 'headless-chrome') } : {}),
      typing: botTyping(c, victim, variant),
      outcome: 'success',
      action: recovery ? 'recover' : 'sign_in',
      assurance: recovery ? RECOVERY_CODE : SYNCED_PASSKEY,
    },
    network.source,
    `variant=${variant} via=${hosting ? 'hosting' : 'residential-proxy'} factor=${recovery ? 'recovery' : 'synced-passkey'}${fingerprint ? '' : ' no-fingerprint'}`,
  );
}

function attackTraffic(
  people: Person[],
  s: TrafficSettings,
  templates: Map<TemplateName, Template>,
): LabelledAttempt[] {
  const c: AttackContext = {
    r: new Random(streamSeed(s.seed, STREAM.attacks)),
    s,
    people,
    templates,
    from: s.start + s.warmupDays * DAY,
    end: s.start + s.days * DAY,
    out: [],
  };
  if (c.from >= c.end - 3 * HOUR || established(c, c.end - HOUR).length === 0) return [];
  const n = s.attacks;
  for (let i = 0; i < n['attack.stuffing']; i++) stuffing(c, i);
  for (let i = 0; i < n['attack.takeover']; i++) takeover(c, 'attack.takeover');
  for (let i = 0; i < n['attack.impossible_travel']; i++) takeover(c, 'attack.impossible_travel');
  for (let i = 0; i < n['attack.session_replay']; i++) sessionReplay(c);
  for (let i = 0; i < n['attack.scripted']; i++) scripted(c);
  return c.out;
}

/** Generates labelled traffic (legitimate sign-ins and attacks), in time order. Deterministic for a seed. */
export function generateTraffic(options: TrafficOptions = {}): Traffic {
  const settings = resolveSettings(options);
  if (!Number.isInteger(settings.people) || settings.people < 1) throw new RangeError('people must be ≥ 1');
  if (!(settings.days >= 1) || !(settings.warmupDays >= 0)) throw new RangeError('days must be ≥ 1');
  const templates = buildTemplates(settings.seed);
  const taken = new Set<string>();
  const people = Array.from({ length: settings.people }, (_, i) => makePerson(i, settings, templates, taken));
  const attempts = people.flatMap((p) => legitTraffic(p, settings));
  attempts.push(...attackTraffic(people, settings, templates));
  // Stable: same-instant attempts keep their generation order.
  attempts.sort((a, b) => a.attempt.at - b.attempt.at);
  return {
    settings,
    people: people.map((p) => ({
      key: p.key,
      username: p.username,
      home: p.home.key,
      country: p.home.country,
      joinedAt: p.joinAt,
      devices: p.devices.length,
      hardwareKey: p.hardwareKey,
      trips: p.trips.length,
      traveller: p.traveller,
      vpn: p.vpn,
      carrier: p.carrier?.carrier.key ?? null,
      newPhone: p.newPhone,
    })),
    attempts,
  };
}

/** An address whose location or network is not what the traffic says. */
export interface AddressProblem {
  ip: string;
  from: string;
  problem: string;
}

/**
 * Checks every address of `traffic` against the geolocation and ASN data: the expected country; for
 * residential and hosting blocks a city-level placement within 100 km of the place; hosting or not as
 * labelled. Returns the problems (none when the address book matches the data).
 */
export function verifyTrafficAddresses(traffic: Traffic, geo: GeoLookup, asn: AsnLookup): AddressProblem[] {
  const problems: AddressProblem[] = [];
  const seen = new Set<string>();
  for (const { attempt, source } of traffic.attempts) {
    if (!attempt.ip || !source || seen.has(attempt.ip)) continue;
    seen.add(attempt.ip);
    const report = (problem: string) => problems.push({ ip: attempt.ip!, from: source.from, problem });
    const at = geo.lookup(attempt.ip);
    if (!at) {
      report('not located');
      continue;
    }
    if (at.country !== source.country)
      report(`placed in ${at.country ?? 'no country'}, not ${source.country}`);
    const expected = PLACES.get(source.from);
    if (source.cityLevel) {
      if (!at.city) report('placed at country or region level only');
      else if (expected && haversineKm(at, expected) > 100) {
        report(`placed in ${at.city}, ${Math.round(haversineKm(at, expected))} km from ${expected.city}`);
      }
    }
    const network = asn.lookup(attempt.ip);
    if (!network) report('not in the ASN data');
    else if (network.hosting !== source.hosting) {
      report(`${network.hosting ? 'hosting' : 'not hosting'} (AS${network.asn} ${network.org})`);
    }
  }
  return problems;
}
