/** The fields of HTTP Basic authentication. */
import { SecretField, TextField } from './form-context';

export function BasicFields() {
  return (
    <>
      <TextField name="username" path="auth.username" label="Username" help="Sent with the password as HTTP Basic authentication." />
      <SecretField name="password" path="auth.password" label="Password" method="basic" help="Treat it like a password. It is stored encrypted and never shown again." />
    </>
  );
}
