// Reference point for the /healthz benchmark: a bare Express 5 app with one JSON route, on this machine.
import express from 'express';

const app = express();
app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
