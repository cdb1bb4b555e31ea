/**
 * `drover --version` (and `-V`): the package's version and the Node.js that runs it, exit 0, nothing on stderr.
 */
import { exec } from '../cli/main';
import { version } from '../package.json';
import { captureIO } from './harness/fixtures';

describe('drover --version', () => {
  test.each([['--version'], ['-V']])('%s prints drover, its version and the Node.js version, and exits 0', async (flag) => {
    const io = captureIO();
    expect(await exec([flag], io)).toBe(0);
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(io.stdout).toEqual([`drover ${version} (node ${process.version})`]);
    expect(io.stderr).toEqual([]);
  });

  test('the help lists it', async () => {
    const io = captureIO();
    expect(await exec(['--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^ {2}-V, --version +print drover's version and exit$/m);
  });
});
