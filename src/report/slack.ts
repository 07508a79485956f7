import axios from 'axios';

/** Posts the summary to a Slack incoming webhook; throws with the HTTP status on failure. */
export function createSlackPoster(webhookUrl: string, timeoutMs = 5000): (text: string) => Promise<void> {
  return async (text) => {
    try {
      await axios.post(webhookUrl, { text }, { timeout: timeoutMs, maxRedirects: 0, headers: { 'Content-Type': 'application/json' } });
    } catch (error) {
      // Never echo the webhook URL: it is a secret.
      const status = axios.isAxiosError(error) ? (error.response?.status ?? error.code ?? 'network error') : 'error';
      throw new Error(`Slack webhook POST failed (${String(status)})`);
    }
  };
}
