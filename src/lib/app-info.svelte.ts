import { appInfo, CommandError, type AppInfo } from "./ipc";

/** What the app knows about itself, loaded once at start-up. */
export class AppInfoState {
  info = $state<AppInfo | null>(null);
  error = $state<CommandError | null>(null);
  loading = $derived(this.info === null && this.error === null);

  async load(): Promise<void> {
    try {
      this.info = await appInfo();
      this.error = null;
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }
}
