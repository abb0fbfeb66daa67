/**
 * How far from a country-level location the person may really be. When a database knows only the
 * country it returns one fixed point (GeoLite2: the middle of the US, Moscow for all of Russia, Paris
 * for France; about half of all IPv4 space is located like this), and a flat 500 km radius around
 * Moscow would make a sign-in from Vladivostok look like a 6,400 km jump. So for large or scattered
 * countries the radius is the distance from the returned point to the farthest of a few populated
 * extremities listed here. It is computed from whatever point the database returns, so it holds for
 * MaxMind, DB-IP and ip-location-db files alike.
 *
 * The list is deliberately generous (a radius too large only forgives; one too small accuses) but leaves
 * out remote outliers that would make a whole country meaningless: Alaska and Hawaii, Easter Island and
 * the western Azores are not listed; the Canaries, Corsica, the Galápagos and Okinawa are. Countries
 * not listed (most span less than 1,000 km) fall back to the caller's default country radius.
 */
import { haversineKm } from './distance.ts';

type LatLon = readonly [lat: number, lon: number];

/** Populated extremities per ISO 3166-1 alpha-2 code. */
const EXTREMITIES: Readonly<Record<string, readonly LatLon[]>> = {
  // Americas. US: the contiguous states only (Alaska and Hawaii are 4,500-6,000 km from the centroid).
  US: [
    [48.75, -122.48],
    [32.72, -117.16],
    [24.56, -81.78],
    [46.86, -68.01],
    [25.9, -97.5],
  ],
  CA: [
    [48.43, -123.37],
    [60.72, -135.06],
    [62.45, -114.37],
    [63.75, -68.52],
    [47.56, -52.71],
    [42.3, -83.0],
  ],
  MX: [
    [32.53, -117.04],
    [22.89, -109.91],
    [21.16, -86.85],
    [14.9, -92.26],
    [31.69, -106.42],
  ],
  BR: [
    [2.82, -60.67],
    [-7.63, -72.67],
    [-4.25, -69.94],
    [3.84, -51.83],
    [-33.69, -53.46],
    [-3.85, -32.42],
    [-7.12, -34.86],
  ],
  AR: [
    [-54.8, -68.3],
    [-22.1, -65.6],
    [-25.6, -54.58],
    [-32.89, -68.83],
  ],
  CL: [
    [-54.93, -67.62],
    [-18.48, -70.31],
  ],
  CO: [
    [-4.2, -69.94],
    [12.58, -81.7],
    [11.54, -72.9],
    [1.21, -77.28],
    [6.19, -67.49],
  ],
  VE: [
    [10.65, -71.64],
    [7.77, -72.22],
    [4.6, -61.1],
    [1.92, -67.06],
    [11.0, -63.86],
  ],
  PE: [
    [-3.75, -73.25],
    [-3.57, -80.45],
    [-18.01, -70.25],
    [-12.6, -69.18],
  ],
  BO: [
    [-11.03, -68.77],
    [-18.96, -57.8],
    [-22.09, -65.59],
    [-16.5, -68.15],
  ],
  // Galápagos included: 30,000 residents and a tourism hub.
  EC: [
    [-0.74, -90.31],
    [-2.19, -79.89],
    [-0.92, -75.4],
  ],
  // Europe.
  RU: [
    [54.71, 20.51],
    [43.12, 131.89],
    [53.02, 158.65],
    [59.57, 150.8],
    [46.96, 142.74],
    [68.97, 33.08],
    [43.6, 39.73],
  ],
  UA: [
    [48.62, 22.3],
    [48.57, 39.3],
    [44.6, 33.52],
    [51.5, 31.3],
  ],
  TR: [
    [41.68, 26.56],
    [37.57, 43.74],
    [40.6, 43.1],
    [36.9, 30.7],
  ],
  FR: [
    [41.92, 8.74],
    [42.7, 9.45],
    [43.7, 7.27],
    [42.7, 2.9],
    [48.39, -4.49],
    [51.03, 2.37],
  ],
  ES: [
    [27.81, -17.92],
    [28.1, -15.41],
    [41.98, 2.82],
    [43.36, -8.41],
    [39.89, 4.26],
  ],
  PT: [
    [37.74, -25.67],
    [32.65, -16.9],
    [41.8, -6.76],
  ],
  IT: [
    [35.5, 12.6],
    [38.11, 15.65],
    [45.74, 7.32],
    [46.5, 11.35],
    [40.35, 18.17],
  ],
  GR: [
    [36.15, 29.59],
    [39.62, 19.92],
    [41.5, 26.53],
    [35.0, 25.7],
  ],
  GB: [
    [60.15, -1.15],
    [58.21, -6.39],
    [50.12, -5.54],
    [54.6, -5.93],
  ],
  NO: [
    [70.37, 31.11],
    [70.66, 23.68],
    [58.15, 8.0],
    [60.39, 5.32],
  ],
  SE: [
    [69.06, 20.55],
    [65.83, 24.14],
    [55.43, 13.82],
  ],
  FI: [
    [70.08, 27.87],
    [69.05, 20.79],
    [60.1, 22.3],
  ],
  // Asia and Oceania.
  CN: [
    [39.47, 75.99],
    [43.83, 87.62],
    [29.65, 91.12],
    [32.5, 80.1],
    [52.97, 122.54],
    [45.8, 126.53],
    [18.25, 109.51],
  ],
  IN: [
    [34.15, 77.58],
    [34.08, 74.8],
    [8.08, 77.55],
    [11.62, 92.73],
    [27.08, 93.61],
    [23.25, 69.67],
  ],
  KZ: [
    [43.65, 51.17],
    [51.23, 51.37],
    [43.24, 76.89],
    [49.95, 82.61],
    [54.87, 69.16],
  ],
  MN: [
    [48.97, 89.96],
    [48.07, 114.53],
    [43.57, 104.42],
  ],
  UZ: [
    [42.46, 59.6],
    [40.78, 72.34],
    [37.22, 67.28],
  ],
  TM: [
    [40.0, 53.0],
    [37.6, 66.5],
  ],
  IR: [
    [25.29, 60.64],
    [29.5, 60.86],
    [38.08, 46.29],
    [30.34, 48.3],
    [36.3, 59.6],
  ],
  AF: [
    [37.12, 70.58],
    [34.35, 62.2],
    [30.96, 61.86],
    [34.43, 70.45],
  ],
  PK: [
    [25.12, 62.32],
    [24.86, 67.0],
    [35.92, 74.31],
    [35.3, 75.63],
  ],
  SA: [
    [29.29, 34.94],
    [16.89, 42.55],
    [17.49, 44.13],
    [26.4, 50.1],
  ],
  YE: [
    [12.65, 54.02],
    [16.94, 43.76],
    [12.8, 45.03],
  ],
  OM: [
    [17.02, 54.09],
    [26.18, 56.25],
  ],
  MM: [
    [9.98, 98.55],
    [25.38, 97.4],
    [20.15, 92.9],
  ],
  TH: [
    [20.43, 99.88],
    [6.43, 101.82],
    [15.24, 104.85],
  ],
  VN: [
    [22.82, 104.98],
    [9.18, 105.15],
    [21.03, 105.85],
  ],
  MY: [
    [6.44, 100.2],
    [1.46, 103.76],
    [5.98, 116.07],
    [4.25, 117.9],
    [1.55, 110.34],
  ],
  ID: [
    [-2.53, 140.7],
    [-8.5, 140.4],
    [5.89, 95.32],
    [-10.17, 123.6],
    [-6.2, 106.8],
  ],
  PH: [
    [20.45, 121.97],
    [5.03, 119.77],
    [6.11, 125.17],
    [14.6, 121.0],
  ],
  JP: [
    [24.34, 124.16],
    [26.21, 127.68],
    [45.42, 141.67],
    [43.33, 145.58],
  ],
  AU: [
    [-31.95, 115.86],
    [-24.88, 113.66],
    [-12.46, 130.84],
    [-10.58, 142.22],
    [-42.88, 147.33],
    [-16.92, 145.77],
  ],
  NZ: [
    [-35.11, 173.26],
    [-46.41, 168.35],
    [-43.95, -176.56],
  ],
  PG: [
    [-2.69, 141.3],
    [-5.43, 154.67],
    [-9.44, 147.18],
  ],
  // Africa.
  EG: [
    [22.34, 31.61],
    [29.2, 25.52],
    [31.55, 25.16],
    [25.07, 34.89],
    [31.2, 29.9],
  ],
  LY: [
    [32.89, 13.19],
    [32.08, 23.96],
    [24.2, 23.3],
    [24.96, 10.17],
  ],
  DZ: [
    [36.76, 3.06],
    [19.57, 5.77],
    [21.33, 0.95],
    [27.67, -8.15],
    [24.55, 9.48],
  ],
  MA: [
    [35.77, -5.8],
    [34.68, -1.91],
    [23.7, -15.94],
    [32.1, -1.23],
  ],
  SD: [
    [19.6, 37.2],
    [13.45, 22.45],
    [21.8, 31.35],
    [15.45, 36.4],
  ],
  SS: [
    [9.53, 31.66],
    [8.46, 25.68],
    [4.85, 31.6],
  ],
  TD: [
    [8.57, 16.07],
    [21.35, 17.0],
    [12.13, 15.06],
  ],
  NE: [
    [13.51, 2.11],
    [13.32, 12.61],
    [18.7, 12.92],
  ],
  ML: [
    [14.45, -11.43],
    [11.32, -5.67],
    [18.44, 1.41],
  ],
  MR: [
    [20.94, -17.04],
    [18.08, -15.98],
    [16.6, -7.25],
  ],
  NG: [
    [6.45, 3.4],
    [11.85, 13.16],
    [13.06, 5.24],
    [4.95, 8.32],
  ],
  CM: [
    [12.08, 15.03],
    [2.9, 9.9],
    [4.05, 9.7],
  ],
  ET: [
    [8.25, 34.59],
    [5.95, 43.45],
    [3.52, 39.05],
    [14.3, 36.6],
  ],
  SO: [
    [-0.36, 42.55],
    [11.28, 49.18],
    [9.56, 44.06],
  ],
  KE: [
    [-4.05, 39.67],
    [3.94, 41.86],
    [3.12, 35.6],
    [-0.1, 34.75],
  ],
  TZ: [
    [-1.33, 31.81],
    [-4.88, 29.63],
    [-10.27, 40.18],
    [-6.8, 39.28],
  ],
  CD: [
    [-4.32, 15.31],
    [-5.82, 13.45],
    [-11.66, 27.48],
    [1.56, 30.25],
    [4.28, 21.0],
  ],
  CG: [
    [-4.78, 11.86],
    [1.61, 16.05],
  ],
  AO: [
    [-5.55, 12.2],
    [-17.07, 15.73],
    [-7.37, 20.83],
    [-8.84, 13.23],
  ],
  ZM: [
    [-8.84, 31.37],
    [-17.85, 25.86],
    [-15.25, 23.13],
  ],
  MZ: [
    [-25.97, 32.57],
    [-12.97, 40.52],
    [-13.31, 35.24],
  ],
  NA: [
    [-17.5, 24.27],
    [-28.55, 16.43],
    [-17.79, 15.69],
  ],
  ZA: [
    [-33.92, 18.42],
    [-22.35, 30.04],
    [-25.43, 31.95],
    [-29.86, 31.02],
  ],
  MG: [
    [-12.28, 49.29],
    [-25.03, 46.98],
    [-23.35, 43.67],
  ],
};

const MAX_CACHED = 4096;
// country → latitude → longitude → radius; numbers as keys avoid formatting doubles on every lookup.
const cache = new Map<string, Map<number, Map<number, number>>>();
let cached = 0;

/**
 * Radius in km around `point` that covers the populated extremities of `country`, or undefined when
 * the country is not listed (small enough for the caller's default).
 */
export function countryExtentKm(country: string, point: { lat: number; lon: number }): number | undefined {
  const extremities = EXTREMITIES[country];
  if (!extremities) return undefined;
  // Databases return a handful of points per country, so the cache stays tiny in practice.
  const hit = cache.get(country)?.get(point.lat)?.get(point.lon);
  if (hit !== undefined) return hit;
  let radius = 0;
  for (const [lat, lon] of extremities) radius = Math.max(radius, haversineKm(point, { lat, lon }));
  const rounded = Math.ceil(radius / 50) * 50;
  if (cached < MAX_CACHED) {
    const byLat = cache.get(country) ?? new Map<number, Map<number, number>>();
    const byLon = byLat.get(point.lat) ?? new Map<number, number>();
    byLon.set(point.lon, rounded);
    byLat.set(point.lat, byLon);
    cache.set(country, byLat);
    cached++;
  }
  return rounded;
}
