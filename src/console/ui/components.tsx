// Small building blocks shared by the pages.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="modal" role="dialog" aria-label={props.title}>
        <header>
          <h2>{props.title}</h2>
          <button class="icon" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

/** An error (or notice) the user must see; `role=alert` so assistive tech (and tests) find it. */
export function Banner(props: { kind?: 'error' | 'info'; text?: string }) {
  if (!props.text) return null;
  return (
    <p class={`banner ${props.kind ?? 'error'}`} role={props.kind === 'info' ? 'status' : 'alert'}>
      {props.text}
    </p>
  );
}

/** A value with a copy-to-clipboard button beside it. */
export function CopyField(props: { label: string; value: string; secret?: boolean }) {
  const [copied, setCopied] = useState(false);
  const [shown, setShown] = useState(!props.secret);
  const copy = async () => {
    await navigator.clipboard.writeText(props.value);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <span class="copyfield">
      <code data-label={props.label}>{shown ? props.value : '•'.repeat(16)}</code>
      {props.secret && (
        <button class="icon" title={shown ? 'Hide' : 'Show'} onClick={() => setShown(!shown)}>
          {shown ? 'Hide' : 'Show'}
        </button>
      )}
      <button class="icon" title={`Copy ${props.label}`} aria-label={`Copy ${props.label}`} onClick={copy}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

export function UsageBar(props: { used: number; total: number; label: string }) {
  const pct = props.total > 0 ? Math.min(100, (props.used / props.total) * 100) : 0;
  return (
    <div class="usage" title={props.label}>
      <div class="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-label={props.label}>
        <div class={pct > 90 ? 'fill high' : 'fill'} style={{ width: `${Math.max(pct, pct > 0 ? 0.5 : 0)}%` }} />
      </div>
      <span>{props.label}</span>
    </div>
  );
}

export const levelLabels: Record<string, string> = { read: 'Read', write: 'Write', readwrite: 'Read/Write', full: 'Full' };

/** A <select> over `options`, shown through `labels` when given. */
export function Choice(props: { name: string; value: string; options: readonly string[]; labels?: Record<string, string>; onChange: (value: string) => void; ariaLabel?: string }) {
  return (
    <select name={props.name} aria-label={props.ariaLabel} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
      {props.options.map((o) => (
        <option value={o}>{props.labels?.[o] ?? o}</option>
      ))}
    </select>
  );
}
