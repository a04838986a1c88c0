/** The field of a static bearer token. */
import { SecretField } from './form-context';

export function BearerFields() {
  return (
    <SecretField name="bearerToken" path="auth.token" label="Token" method="bearer" help='Sent as "Authorization: Bearer <token>". Treat it like a password.' />
  );
}
