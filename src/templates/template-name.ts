/** A template's name: its folder under TEMPLATES_DIR. The pattern also rules out path traversal. */
export const TEMPLATE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
