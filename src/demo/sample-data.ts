/** A small shop database for `lifeboat demo`: a few related tables, a view and some thousand rows. */
export const SAMPLE_SQL = `
create type order_status as enum ('new', 'paid', 'shipped', 'cancelled');
create table customers (
  id bigint generated always as identity primary key,
  email text not null unique,
  name text not null,
  created_at timestamptz not null default now()
);
create table products (
  id serial primary key,
  sku text not null unique,
  title text not null,
  price numeric(12,2) not null check (price >= 0),
  attributes jsonb not null default '{}'
);
create table orders (
  id bigint generated always as identity primary key,
  customer_id bigint not null references customers(id),
  status order_status not null default 'new',
  placed_at timestamptz not null,
  items jsonb not null
);
create index orders_customer_idx on orders (customer_id);
create view order_totals as
  select o.id, o.customer_id, sum((i->>'qty')::int * p.price) as total
    from orders o cross join lateral jsonb_array_elements(o.items) i
    join products p on p.sku = i->>'sku'
   group by o.id, o.customer_id;

insert into customers (email, name, created_at)
  select 'customer' || g || '@example.com', 'Customer ' || g, timestamptz '2026-01-01' + g * interval '37 minutes'
    from generate_series(1, 2000) g;
insert into products (sku, title, price, attributes)
  select 'SKU-' || g, 'Product ' || g, (g % 97) + 0.99, jsonb_build_object('color', (array['red','green','blue'])[1 + g % 3], 'weight', g % 13)
    from generate_series(1, 300) g;
insert into orders (customer_id, status, placed_at, items)
  select 1 + g % 2000, (array['new','paid','shipped','cancelled']::order_status[])[1 + g % 4],
         timestamptz '2026-02-01' + g * interval '11 minutes',
         jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (1 + g % 300), 'qty', 1 + g % 5))
    from generate_series(1, 10000) g;
`;
