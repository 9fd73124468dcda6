import { useState, type FormEvent } from 'react';
import { useSession } from '../lib/session.tsx';
import { Button, ErrorNote, Field, Input } from '../components/ui.tsx';

export function LoginPage() {
  const session = useSession();
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email'));
    const password = String(form.get('password'));
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'login') await session.login(email, password);
      else await session.register(String(form.get('name')), email, password);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form onSubmit={submit} className="flex w-full max-w-sm flex-col gap-4 rounded-lg bg-white p-6 shadow ring-1 ring-slate-200" aria-label={mode === 'login' ? 'Log in' : 'Register'}>
        <h1 className="text-xl font-semibold">
          <span className="text-indigo-700">EventFlow</span> · {mode === 'login' ? 'Log in' : 'Create an account'}
        </h1>
        {mode === 'register' && (
          <Field label="Name">
            <Input name="name" required maxLength={200} autoComplete="name" />
          </Field>
        )}
        <Field label="Email">
          <Input name="email" type="email" required autoComplete="email" />
        </Field>
        <Field label="Password" hint={mode === 'register' ? 'At least 10 characters.' : undefined}>
          <Input name="password" type="password" required autoComplete={mode === 'login' ? 'current-password' : 'new-password'} />
        </Field>
        <ErrorNote error={error} />
        <Button tone="primary" type="submit" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Register'}
        </Button>
        <button type="button" className="text-sm text-indigo-700 underline" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
          {mode === 'login' ? 'No account? Register' : 'Have an account? Log in'}
        </button>
      </form>
    </main>
  );
}
