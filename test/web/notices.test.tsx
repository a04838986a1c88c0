import { fireEvent, screen, within } from '@solidjs/testing-library';
import { describe, expect, it, vi } from 'vitest';
import { NOTICE_DURATION_MS, notify } from '../../web/components/notices';
import { fakeApi, json, noticesText } from './fake-api';
import { renderApp } from './render-app';

describe('notices', () => {
  it('leave by themselves after a while, unless the pointer or focus is on them', async () => {
    fakeApi({ 'GET /api/connections': () => json(200, { connections: [] }) });
    renderApp('/');
    await screen.findByRole('heading', { name: 'Connections', level: 1 });
    vi.useFakeTimers();
    try {
      notify('First.');
      notify('Second.');
      const second = within(screen.getByRole('status', { name: 'Notifications' })).getByText('Second.').closest('[data-notice]')!;
      fireEvent.mouseEnter(second);
      vi.advanceTimersByTime(NOTICE_DURATION_MS + 1);
      expect(noticesText()).not.toContain('First.');
      expect(noticesText()).toContain('Second.');
      fireEvent.mouseLeave(second);
      vi.advanceTimersByTime(NOTICE_DURATION_MS + 1);
      expect(noticesText()).toBe('');
    } finally {
      vi.useRealTimers();
    }
  });

  it('hands the focus to the page heading when dismissed from the keyboard', async () => {
    fakeApi({ 'GET /api/connections': () => json(200, { connections: [] }) });
    renderApp('/');
    await screen.findByRole('heading', { name: 'Connections', level: 1 });
    notify('Done.');
    const button = within(screen.getByRole('status', { name: 'Notifications' })).getByRole('button', { name: /Dismiss/ });
    button.focus();
    fireEvent.click(button);
    expect(noticesText()).toBe('');
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'Connections', level: 1 }));
  });
});
