/** The config the demo runs on, written for the user to edit: the same file `--serve` serves. */
export const demoConfig = (backups: string): string =>
  [
    'storages:',
    `  demo: { type: local, path: ${JSON.stringify(backups)} }`,
    'jobs:',
    '  shop:',
    '    source: { type: postgres, url: "${DEMO_DATABASE_URL}", databases: shop }',
    '    compression: { type: zstd, level: 3 }',
    '    storages: [demo]',
    '    schedule: { cron: "0 * * * *", timezone: UTC }',
    '    retention: { keepLast: 7, keepDaily: 14 }',
    '    drill:',
    '      schedule: { cron: "30 3 * * 0", timezone: UTC }',
    '      checks:',
    '        - { name: customers present, database: shop, sql: "select count(*) from customers", expect: ">= 2000" }',
    '        - { name: every order has a total, database: shop, sql: "select count(*) from orders o left join order_totals t using (id) where t.id is null", expect: "= 0" }',
    "# LIFEBOAT_TOKEN: what the dashboard's Back up and Drill buttons (POST /api/...) ask for",
    'server: { token: "${LIFEBOAT_TOKEN:-}" }',
    '',
  ].join('\n');
