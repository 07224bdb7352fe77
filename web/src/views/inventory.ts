import { api } from '../api.js';
import { debounce, h, replace, scrollTable, time } from '../dom.js';
import type { Alert, Product } from '../types.js';
import type { View } from './context.js';
import { empty, errorState, heading, loading, notice } from './states.js';

const STOCK_EVENTS = new Set(['StockAdjusted', 'LowStockDetected', 'InventoryReserved', 'InventoryReleased', 'ShipmentCreated']);

/**
 * Inventory: every product's on-hand, reserved and available units against its reorder point,
 * the open low-stock alerts, and a restock form (POST /products/:id/stock). Stock events
 * from the stream refresh it.
 */
export const inventoryView: View = (root, context) => {
  const alertsArea = h('div', null, loading('alerts'));
  const productsArea = h('div', null, loading('products'));
  const formArea = h('div');
  const status = h('div', { class: 'form-status' });
  let products: Product[] = [];
  let closed = false;

  root.replaceChildren(
    heading('Inventory', h('p', { class: 'subtitle' }, 'Available = on hand − reserved; an alert opens at or below the reorder point.')),
    h('section', { class: 'card', 'aria-labelledby': 'alerts-title' }, h('h2', { id: 'alerts-title' }, 'Open low-stock alerts'), alertsArea),
    h('section', { class: 'card', 'aria-labelledby': 'restock-title' }, h('h2', { id: 'restock-title' }, 'Restock'), formArea, status),
    h('section', { class: 'card', 'aria-labelledby': 'products-title' }, h('h2', { id: 'products-title' }, 'Products'), productsArea),
  );

  async function load(): Promise<void> {
    try {
      // Alerts first: admin-only, so a customer token is told why at once.
      const { alerts } = await api<{ alerts: Alert[] }>('/inventory/alerts');
      products = await allProducts();
      if (closed) return;
      renderAlerts(alerts);
      renderProducts(alerts);
      if (!formArea.firstChild) renderForm();
      else updateOptions();
    } catch (error) {
      if (closed) return;
      replace(root, heading('Inventory'), errorState(error, context, () => context.refresh()));
    }
  }

  function renderAlerts(alerts: Alert[]): void {
    if (alerts.length === 0) return replace(alertsArea, empty('No open alerts', 'Every product is above its reorder point.'));
    replace(
      alertsArea,
      h(
        'ul',
        { class: 'alerts', 'aria-label': 'Open low-stock alerts' },
        alerts.map((a) => h('li', { 'data-alert-product': a.productId }, h('strong', null, a.productId), ` — ${a.available} available, reorder point ${a.reorderPoint}; opened `, time(a.openedAt), h('span', { class: 'muted' }, ` ${a.message}`))),
      ),
    );
  }

  function renderProducts(alerts: Alert[]): void {
    if (products.length === 0) return replace(productsArea, empty('No products', 'Add products with POST /products; they appear here.'));
    const alerting = new Set(alerts.map((a) => a.productId));
    const max = Math.max(1, ...products.map((p) => Math.max(p.onHand, p.reorderPoint * 2)));
    const rows = products.map((p) =>
      h(
        'tr',
        { 'data-product-id': p.productId, class: alerting.has(p.productId) ? 'low' : undefined },
        h('th', { scope: 'row' }, h('span', { class: 'product-id' }, p.productId), h('span', { class: 'muted product-name' }, p.name)),
        h('td', { class: 'num', 'data-label': 'On hand' }, String(p.onHand)),
        h('td', { class: 'num', 'data-label': 'Reserved' }, String(p.reserved)),
        h('td', { class: 'num available', 'data-label': 'Available' }, String(p.available)),
        h('td', { class: 'num', 'data-label': 'Reorder point' }, String(p.reorderPoint)),
        h(
          'td',
          { class: 'hide-narrow' },
          h('meter', { min: 0, max, low: p.reorderPoint + 0.5, optimum: max, value: Math.max(0, p.available), 'aria-label': `${p.productId}: ${p.available} available, reorder point ${p.reorderPoint}` }),
        ),
        h('td', { 'data-label': 'Stock' }, alerting.has(p.productId) ? h('span', { class: 'badge badge-low' }, 'Low') : h('span', { class: 'badge badge-ok' }, 'OK')),
      ),
    );
    const head = h('thead', null, h('tr', null, ['Product', 'On hand', 'Reserved', 'Available', 'Reorder point', 'Level', 'Stock'].map((c, i) => h('th', { scope: 'col', class: i === 5 ? 'hide-narrow' : undefined }, c))));
    replace(productsArea, scrollTable('Products', h('table', { class: 'data stack' }, head, h('tbody', null, rows))));
  }

  const select = h('select', { id: 'restock-product', name: 'product', required: true });
  function updateOptions(): void {
    const chosen = select.value;
    replace(select, products.map((p) => h('option', { value: p.productId }, `${p.productId} — ${p.name} (${p.available} available)`)));
    if (products.some((p) => p.productId === chosen)) select.value = chosen;
  }

  function renderForm(): void {
    updateOptions();
    const units = h('input', { id: 'restock-units', name: 'units', type: 'number', min: 1, max: 1_000_000, step: 1, required: true, value: 10 });
    const reason = h('input', { id: 'restock-reason', name: 'reason', type: 'text', maxlength: 500, required: true, value: 'restock' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Restock');
    const form = h(
      'form',
      { class: 'restock', onsubmit: (e: Event) => (e.preventDefault(), void restock()) },
      h('div', { class: 'field' }, h('label', { for: 'restock-product' }, 'Product'), select),
      h('div', { class: 'field' }, h('label', { for: 'restock-units' }, 'Units to add'), units),
      h('div', { class: 'field' }, h('label', { for: 'restock-reason' }, 'Reason'), reason),
      submit,
    );
    async function restock(): Promise<void> {
      const delta = Number(units.value);
      if (!Number.isInteger(delta) || delta < 1) {
        replace(status, notice('error', 'Units to add must be a whole number of at least 1.'));
        return units.focus();
      }
      submit.disabled = true;
      try {
        const level = await api<{ productId: string; available: number }>(`/products/${encodeURIComponent(select.value)}/stock`, { method: 'POST', body: { delta, reason: reason.value.trim() || 'restock' } });
        replace(status, notice('ok', `Restocked ${level.productId} by ${delta}: ${level.available} available.`));
        await load();
      } catch (error) {
        replace(status, errorState(error, context));
      } finally {
        submit.disabled = false;
      }
    }
    replace(formArea, form);
  }

  const refresh = debounce(() => void load(), 300);
  const unsubscribe = context.live.subscribe((event) => {
    if (STOCK_EVENTS.has(event.eventType)) refresh();
  });
  void load();
  return () => {
    closed = true;
    unsubscribe();
    refresh.cancel();
  };
};

async function allProducts(): Promise<Product[]> {
  const products: Product[] = [];
  let cursor: string | null = null;
  do {
    const page: { products: Product[]; nextCursor: string | null } = await api(`/products?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    products.push(...page.products);
    cursor = page.nextCursor;
  } while (cursor && products.length < 2000);
  return products;
}
