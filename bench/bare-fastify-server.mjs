// The bench's HTTP baseline: a bare Fastify endpoint answering 202 with a small JSON body, in a
// process of its own so that its CPU per request can be read from /proc without the load generator's.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/', async (_request, reply) => reply.code(202).send({ status: 'PENDING' }));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.stdout.write('ready\n');
