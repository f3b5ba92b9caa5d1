// ONNX graphs for the trainer's models, written with protobufjs (src/models/onnx-proto.ts). Opset 17.
import { encodeOnnx, ONNX_FLOAT, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../src/models/onnx-proto.ts';
import type { Classifier } from './fit.ts';

export const OPSET = 17;
const INT = 2; // AttributeProto.INT

const tensor = (name: string, dims: number[], data: ArrayLike<number>): OnnxTensor => ({
  name,
  dims,
  data_type: ONNX_FLOAT,
  float_data: Array.from(data, Math.fround),
});
const valueInfo = (name: string, width: number): OnnxValueInfo => ({
  name,
  type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } },
});
const node = (op_type: string, input: string[], output: string[], attribute: OnnxNode['attribute'] = []): OnnxNode => ({
  op_type,
  input,
  output,
  name: output[0]!,
  attribute,
});

function model(
  name: string,
  nodes: OnnxNode[],
  init: OnnxTensor[],
  inputWidth: number,
  output: OnnxValueInfo,
  doc: string,
): Promise<Uint8Array> {
  const m: OnnxModel = {
    ir_version: 8,
    opset_import: [{ domain: '', version: OPSET }],
    producer_name: 'skipper-trainer',
    producer_version: '1',
    model_version: 1,
    doc_string: doc,
    graph: { name, node: nodes, initializer: init, input: [valueInfo('input', inputWidth)], output: [output] },
  };
  return encodeOnnx(m);
}

/**
 * Softmax classifier → `probabilities` [batch, classes]. `norm` puts the standardization in the graph
 * ((x − mean) · 1/sqrt(var + eps)); without it the loader applies the manifest's.
 */
export function classifierOnnx(name: string, c: Classifier, norm?: { mean: number[]; scale: number[] }): Promise<Uint8Array> {
  const nodes: OnnxNode[] = [];
  const init: OnnxTensor[] = [];
  let x = 'input';
  if (norm !== undefined) {
    init.push(tensor('norm_mean', [c.inputs], norm.mean), tensor('norm_scale', [c.inputs], norm.scale));
    nodes.push(node('Sub', [x, 'norm_mean'], ['centered']), node('Mul', ['centered', 'norm_scale'], ['normalized']));
    x = 'normalized';
  }
  if (c.hidden === 0) {
    init.push(tensor('W', [c.inputs, c.classes], c.w1), tensor('B', [c.classes], c.b1));
    nodes.push(node('MatMul', [x, 'W'], ['xw']), node('Add', ['xw', 'B'], ['logits']));
  } else {
    init.push(
      tensor('W1', [c.inputs, c.hidden], c.w1),
      tensor('B1', [c.hidden], c.b1),
      tensor('W2', [c.hidden, c.classes], c.w2),
      tensor('B2', [c.classes], c.b2),
    );
    nodes.push(
      node('MatMul', [x, 'W1'], ['h_mm']),
      node('Add', ['h_mm', 'B1'], ['h_pre']),
      node('Relu', ['h_pre'], ['h']),
      node('MatMul', ['h', 'W2'], ['o_mm']),
      node('Add', ['o_mm', 'B2'], ['logits']),
    );
  }
  nodes.push(node('Softmax', ['logits'], ['probabilities'], [{ name: 'axis', type: INT, i: -1 }]));
  return model(
    name,
    nodes,
    init,
    c.inputs,
    valueInfo('probabilities', c.classes),
    `${c.hidden === 0 ? 'logistic regression' : `MLP ${c.inputs}→${c.hidden}→${c.classes}`}`,
  );
}

/** Linear regressor → `value` [batch, 1]. */
export function linearOnnx(name: string, w: number[], b: number): Promise<Uint8Array> {
  const init = [tensor('W', [w.length, 1], w), tensor('B', [1], [b])];
  const nodes = [node('MatMul', ['input', 'W'], ['xw']), node('Add', ['xw', 'B'], ['value'])];
  return model(name, nodes, init, w.length, valueInfo('value', 1), 'ridge regression of the forward return');
}
