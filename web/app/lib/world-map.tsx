/**
 * A world map of sign-in locations: Natural Earth's land (world-atlas, 1:110m, bundled as JSON) in the
 * Equal Earth projection (d3-geo), and one circle per place, its area growing with the number of
 * sign-ins and its colour naming the worst outcome seen there. Each circle has a `<title>` (a tooltip
 * for pointer users); the legend says what the colours and sizes mean, and the table under "Show the
 * numbers" lists every place with its counts.
 */
import { geoEqualEarth, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import land110m from 'world-atlas/land-110m.json';
import { ChartFrame, type Tone } from './charts.tsx';

/** A place people signed in from, with its counts (`denied` and `stepUp` are part of `count`). */
export interface MapLocation {
  city: string | null;
  country: string | null;
  lat: number;
  lon: number;
  count: number;
  denied: number;
  stepUp: number;
}

const WIDTH = 800;
const HEIGHT = 400;
const SPHERE = { type: 'Sphere' } as const;

/** The projection and the outlines, computed once, on the first map drawn. */
let drawn: { project: (lon: number, lat: number) => [number, number] | null; sphere: string; land: string };

function outlines(): typeof drawn {
  if (drawn) return drawn;
  const topology = land110m as unknown as Topology<{ land: GeometryCollection }>;
  const land = feature(topology, topology.objects.land);
  const projection = geoEqualEarth().fitExtent(
    [
      [4, 4],
      [WIDTH - 4, HEIGHT - 4],
    ],
    SPHERE,
  );
  const path = geoPath(projection);
  drawn = {
    project: (lon, lat) => projection([lon, lat]),
    sphere: path(SPHERE) ?? '',
    land: path(land) ?? '',
  };
  return drawn;
}

/** The worst outcome at a place decides its colour. */
function toneOf(place: MapLocation): Tone {
  if (place.denied > 0) return 'deny';
  if (place.stepUp > 0) return 'step-up';
  return 'allow';
}

/** "Berlin, DE", or whichever of the two is known. */
export function placeName(place: Pick<MapLocation, 'city' | 'country'>): string {
  return [place.city, place.country].filter(Boolean).join(', ') || 'Unknown place';
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The map of `locations`, with its legend and table. */
export function WorldMap(props: { title: string; description: string; locations: MapLocation[] }) {
  const { project, sphere, land } = outlines();
  const max = Math.max(1, ...props.locations.map((l) => l.count));
  const radius = (count: number) => 4 + 14 * Math.sqrt(count / max);
  // Largest first, so that smaller circles are drawn on top and stay visible.
  const places = [...props.locations].sort((a, b) => b.count - a.count);
  return (
    <ChartFrame
      title={props.title}
      description={props.description}
      width={WIDTH}
      height={HEIGHT}
      class="chart-map"
      legend={[
        { label: 'Only allowed', tone: 'allow', marker: 'dot' },
        { label: 'Some stepped up, none denied', tone: 'step-up', marker: 'dot' },
        { label: 'Some denied', tone: 'deny', marker: 'dot' },
      ]}
      legendNote="A larger circle means more sign-ins from that place."
      table={{
        caption: 'Sign-ins by place',
        head: ['Place', 'Sign-ins', 'Stepped up', 'Denied', 'Latitude, longitude'],
        rows: places.map((p) => [
          placeName(p),
          p.count,
          p.stepUp,
          p.denied,
          `${p.lat.toFixed(2)}, ${p.lon.toFixed(2)}`,
        ]),
      }}
    >
      <path d={sphere} class="map-ocean" />
      <path d={land} class="map-land" />
      {places.map((place) => {
        const at = project(place.lon, place.lat);
        if (!at) return null;
        return (
          <circle
            key={`${place.lat},${place.lon},${placeName(place)}`}
            cx={at[0]}
            cy={at[1]}
            r={radius(place.count)}
            class={`map-point tone-${toneOf(place)}`}
          >
            <title>
              {`${placeName(place)}: ${plural(place.count, 'sign-in', 'sign-ins')}, ` +
                `${place.stepUp} stepped up, ${place.denied} denied`}
            </title>
          </circle>
        );
      })}
    </ChartFrame>
  );
}
