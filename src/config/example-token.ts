/** The token printed in .env.example. It lets `npm run dev` start as is, and is refused outside development. */
export const EXAMPLE_TOKEN = 'st_dev_PleaseGenerateYourOwnToken03ltr9h';
