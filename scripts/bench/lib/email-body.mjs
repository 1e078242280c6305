// The request body every load in the benchmark sends: a realistic transactional email of about 2 KB of
// JSON (two recipients, a subject, a plain-text and an HTML part), valid for the product's schema and for
// the baseline app's.

const items = [
  ['Merino wool crew-neck sweater, charcoal, size M', 1, '89.00'],
  ['Organic cotton T-shirt, 3-pack, white, size M', 2, '45.00'],
  ['Leather card holder, tan', 1, '35.00'],
];

const text = [
  'Hi Ana,',
  '',
  'Thank you for your order #FF-204817, placed on 12 March. We are getting it ready and will send you a',
  'tracking link as soon as it leaves our warehouse (usually within one working day).',
  '',
  ...items.map(([name, qty, price]) => `  ${qty} x ${name} ... EUR ${price}`),
  '',
  'Subtotal: EUR 214.00   Shipping: free   Total paid: EUR 214.00 (Visa ending 4242)',
  '',
  'Delivery address: Ana Example, Example Street 12, 1010 Vienna, Austria',
  '',
  'Questions? Reply to this email or visit https://shop.example.com/help. You can follow the order at',
  'https://shop.example.com/orders/FF-204817 at any time.',
  '',
  'Changed your mind? Anything unworn can be returned within 30 days: https://shop.example.com/returns',
  '',
  'The Example Shop team',
].join('\n');

const html = [
  '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">',
  '<h1 style="font-size:20px">Thank you for your order, Ana!</h1>',
  '<p>Order <b>#FF-204817</b> is being prepared. We will email you a tracking link when it ships.</p>',
  '<table style="border-collapse:collapse;width:100%">',
  ...items.map(
    ([name, qty, price]) =>
      `<tr><td style="padding:4px 0">${name}</td><td>${qty}</td><td style="text-align:right">EUR ${price}</td></tr>`,
  ),
  '<tr><td colspan="2"><b>Total paid</b></td><td style="text-align:right"><b>EUR 214.00</b></td></tr>',
  '</table>',
  '<p>Delivery to: Ana Example, Example Street 12, 1010 Vienna, Austria</p>',
  '<p><a href="https://shop.example.com/orders/FF-204817">Follow your order</a></p>',
  '<p style="color:#666;font-size:12px">Anything unworn can be returned within 30 days.</p>',
  '</body></html>',
].join('');

/** The email as an object; `priority` is added when given. */
export function email(priority) {
  return {
    to: ['ana@example.com', 'orders-archive@example.com'],
    subject: 'Your order #FF-204817 is confirmed',
    text,
    html,
    ...(priority ? { priority } : {}),
  };
}

/** The email as the JSON request body. */
export const emailBody = (priority) => JSON.stringify(email(priority));
