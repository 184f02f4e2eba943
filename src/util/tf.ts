/**
 * TensorFlow.js as this library uses it: the core ops and the Layers API (whose Node
 * bundle also registers the gradients), with the pure-JS cpu backend registered (the
 * reference the tests compare with, and the last fallback). The narrow packages, not the
 * `@tensorflow/tfjs` umbrella, which adds WebGL, the converter and tf.data (about 190 MB
 * of a consumer's install that Node never uses). Import tfjs from here only. Chained ops
 * (`x.mul(y)`) are not installed by these packages: call the functions (`tf.mul(x, y)`).
 */
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
