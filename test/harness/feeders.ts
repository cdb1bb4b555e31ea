/** Something that publishes until stopped (a lag feeder, infra/local/apps.ts). */
export interface Stoppable {
  stop(): void;
}

/**
 * The lag feeders a test file starts. Constructed at the file's top level, it registers a beforeEach and an afterEach:
 * feeders started inside a test stop when that test ends; those started in beforeAll run until `stopAll()`. Left
 * running, every earlier test's feeders would keep publishing (a runbook of three databases: six PutMetricData every
 * 300 ms), and a file of a dozen tests ends at tens of requests a second through the fidelity proxy into moto, for
 * runbooks no test reads any more: CPU the other tests on a 2-core machine need.
 */
export class FeederScope {
  private readonly ofFile: Stoppable[] = [];
  private readonly ofTest: Stoppable[] = [];
  private inTest = false;

  constructor() {
    beforeEach(() => {
      this.inTest = true;
    });
    afterEach(() => {
      this.inTest = false;
      for (const f of this.ofTest.splice(0)) f.stop();
    });
  }

  add(feeder: Stoppable): void {
    (this.inTest ? this.ofTest : this.ofFile).push(feeder);
  }

  stopAll(): void {
    for (const f of [...this.ofFile.splice(0), ...this.ofTest.splice(0)]) f.stop();
  }
}
