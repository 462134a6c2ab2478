// `koa2` is Koa 2 installed under an alias for the compatibility test; its API matches @types/koa.
declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
