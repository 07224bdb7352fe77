import type { ModuleApis } from '../composition.js';
import { mintToken } from '../http/auth.js';
import type { JwtSecret } from './jwt-secret.js';
import { seedDemoProducts } from './seed-demo.js';

/** What the start banner shows. */
export interface Banner {
  /** Where the API listens, e.g. http://localhost:3000. */
  url: string;
  database: string;
  adminToken: string;
  customerToken: string;
  /** The customer the customer token is for. */
  customerId: string;
  /** A product the example order buys. */
  productId: string | undefined;
  /** What happened to the catalog at this start. */
  catalog: string;
  /** Where the secret lives (never the secret). */
  secret: JwtSecret['source'];
  secretPath: string | undefined;
}

const TOKEN_HOURS = 24;
const CUSTOMER_ID = 'customer-001';

/** Seeds the demo catalog when the catalog is empty; says what it found or did. */
export async function seedIfEmpty(inventory: ModuleApis['inventory']): Promise<string> {
  const first = await inventory.listProducts({ limit: 1 });
  if (first.products.length > 0) return 'products already in the catalog (orderflow seed-demo adds the demo ones)';
  const { created } = await seedDemoProducts(inventory);
  return `${created.length} demo products seeded (${created.map((p) => p.productId).join(', ')})`;
}

/** What the banner shows, once the API listens: tokens for an admin and for customer-001, and a product to order. */
export async function prepareBanner(
  apis: ModuleApis,
  options: { address: string; database: string; catalog: string; secret: JwtSecret; now?: number },
): Promise<Banner> {
  const { secret } = options;
  const { products } = await apis.inventory.listProducts({ limit: 50 });
  const product = products.find((p) => p.available > 0) ?? products[0];
  const mint = (sub: string, role: 'admin' | 'customer') => mintToken(secret.value, { sub, role, expiresInSeconds: TOKEN_HOURS * 3600 }, options.now);
  return {
    url: bannerUrl(options.address),
    database: options.database,
    adminToken: mint('admin', 'admin'),
    customerToken: mint(CUSTOMER_ID, 'customer'),
    customerId: CUSTOMER_ID,
    productId: product?.productId,
    catalog: options.catalog,
    secret: secret.source,
    secretPath: secret.path,
  };
}

// Loopback and every-interface addresses are shown as localhost, which works from this machine.
const LOCAL_HOSTS = new Set(['127.0.0.1', '[::1]', '0.0.0.0', '[::]', 'localhost']);

function bannerUrl(address: string): string {
  const url = new URL(address);
  return LOCAL_HOSTS.has(url.hostname) ? `http://localhost:${url.port}` : `http://${url.host}`;
}

/** The start banner: short, friendly, and every command ready to paste into a POSIX shell. */
export function formatBanner(b: Banner): string {
  const secretLine: Record<JwtSecret['source'], string> = {
    env: 'tokens are signed with JWT_SECRET',
    file: `tokens are signed with the secret in ${b.secretPath} (set JWT_SECRET to use your own)`,
    created: `made a token secret in ${b.secretPath} (kept for the next starts; set JWT_SECRET to use your own)`,
    ephemeral: 'tokens are signed with a secret that lives as long as this process',
  };
  const order = {
    items: [{ productId: b.productId ?? 'product-001', quantity: 1 }],
    shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
    paymentMethod: { token: 'tok_visa' },
  };
  return [
    '',
    `  orderflow is running at ${b.url}   (API docs: ${b.url}/docs)`,
    // The fragment never reaches the server or its logs; the page stores it and removes it.
    `  console   ${b.url}/#token=${b.adminToken}   (signs the admin in on this machine)`,
    `  database  ${b.database}`,
    `  catalog   ${b.catalog}`,
    `  tokens    ${secretLine[b.secret]}`,
    '',
    `  Tokens, valid ${TOKEN_HOURS}h (more: npx orderflow token --role customer --sub customer-002):`,
    `    export ADMIN_TOKEN=${b.adminToken}`,
    `    export CUSTOMER_TOKEN=${b.customerToken}     # ${b.customerId}`,
    '',
    `  Place an order as ${b.customerId}, paid with the test card tok_visa:`,
    `    ORDER_ID=$(curl -s -X POST ${b.url}/orders -H "Authorization: Bearer $CUSTOMER_TOKEN" -H 'Content-Type: application/json' \\`,
    `      -d '${JSON.stringify(order)}' | tee /dev/stderr | sed -n 's/.*"orderId":"\\([^"]*\\)".*/\\1/p'); echo`,
    '  and look at it (a moment later it is SHIPPED):',
    `    curl -s ${b.url}/orders/$ORDER_ID -H "Authorization: Bearer $CUSTOMER_TOKEN"; echo`,
    '',
    '',
  ].join('\n');
}
