/** The token printed in .env.example. It lets a fresh checkout start as is, and is refused in production. */
export const EXAMPLE_TOKEN = 'st_dev_PleaseGenerateYourOwnToken03ltr9h';
