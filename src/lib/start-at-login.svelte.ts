import { CommandError, setStartAtLogin, startAtLogin, type StartAtLoginDto } from "./ipc";

/**
 * Whether Tidesync starts when the person logs in (desktop). Offered once, after the first
 * pair is added; the About screen keeps the switch.
 */
export class StartAtLoginState {
  setting = $state<StartAtLoginDto | null>(null);
  error = $state<CommandError | null>(null);
  busy = $state(false);

  async load(): Promise<void> {
    try {
      this.setting = await startAtLogin();
      this.error = null;
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  /** Turns it on or off; either answer ends the offer. */
  async set(enabled: boolean): Promise<void> {
    this.busy = true;
    try {
      this.setting = await setStartAtLogin(enabled);
      this.error = null;
    } catch (reason) {
      this.error = reason as CommandError;
    } finally {
      this.busy = false;
    }
  }
}
