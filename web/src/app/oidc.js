// 统一身份认证 login: where the app goes back to after the provider's callback page.
export const OIDC_REDIRECT = 'eseal.oidc.redirect'
