// Preloaded into the app by `npm run bench -- --profile` (node --import). SIGUSR2 starts V8's
// sampling profiler; SIGTERM writes the profile to $BENCH_CPU_PROFILE before the app shuts down.
// The inspector session of one's own thread answers synchronously, so the file is written in time.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';

const target = process.env.BENCH_CPU_PROFILE;
if (target) {
  const session = new inspector.Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 500 });
    session.post('Profiler.start');
    started = true;
  });
  process.prependListener('SIGTERM', () => {
    if (!started) return;
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(target, JSON.stringify(result.profile));
    });
  });
}
