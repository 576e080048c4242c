// One crash, to compare the process's fate with and without the SDK (NO_SDK=1): the SDK must keep
// Node's own behaviour. CRASH=exception|rejection; OWN_HANDLER=uncaught|rejection|none (a
// listener of the application's own); node flags and NODE_OPTIONS come from the test.
// Prints "still alive" if the process outlives the crash by a second; the process then ends on
// its own (so that an exit code set by --unhandled-rejections=warn-with-error-code shows).
const { CRASH = 'rejection', OWN_HANDLER = 'none', CASE = 'case' } = process.env;

if (process.env.NO_SDK !== '1') {
  const { init } = await import('@botpulse/sdk');
  init({ flushOnExit: true, release: 'modes@1.0.0' });
}
if (OWN_HANDLER === 'uncaught') process.on('uncaughtException', (error) => console.log(`app handler saw: ${error.message}`));
if (OWN_HANDLER === 'rejection') process.on('unhandledRejection', (reason) => console.log(`app handler saw: ${reason.message}`));

setTimeout(() => console.log('still alive'), 1000);
setTimeout(() => {
  if (CRASH === 'exception') throw new Error(`crash ${CASE}`);
  void Promise.reject(new Error(`crash ${CASE}`));
}, 50);
