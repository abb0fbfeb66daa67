/** Great-circle distance on a spherical Earth. */

/** Mean Earth radius (IUGG), km. The sphere is off by at most 0.5 % against the ellipsoid: ample here. */
export const EARTH_RADIUS_KM = 6371.0088;

/** Haversine distance in km between two points given in degrees. */
export function haversineKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  // min() guards against h creeping above 1 by rounding for antipodal points.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
