import { Item, totalValueCents } from './inventory';

export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function summary(items: Item[]): string {
  return `${items.length} items worth ${formatCents(totalValueCents(items))}`;
}
