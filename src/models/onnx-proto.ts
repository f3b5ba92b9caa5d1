// The part of ONNX's onnx.proto (proto2, field numbers from onnx 1.12) that Skipper reads and writes, as a
// protobufjs JSON descriptor: the loader reads a model's opset, the trainer writes models. Kept as TypeScript
// (not a .proto file) so the compiled build carries it; protobufjs loads only when a model is used.
import type { INamespace } from 'protobufjs';

const msg = (
  fields: Record<string, { type: string; id: number; rule?: 'repeated'; options?: Record<string, unknown> }>,
  nested?: INamespace['nested'],
) => (nested ? { fields, nested } : { fields });

export const ONNX_DESCRIPTOR: INamespace = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: msg(
          {
            name: { type: 'string', id: 1 },
            type: { type: 'AttributeType', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
          },
          {
            AttributeType: {
              values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9 },
            },
          },
        ),
        ValueInfoProto: msg({ name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, doc_string: { type: 'string', id: 3 } }),
        NodeProto: msg({
          input: { rule: 'repeated', type: 'string', id: 1 },
          output: { rule: 'repeated', type: 'string', id: 2 },
          name: { type: 'string', id: 3 },
          op_type: { type: 'string', id: 4 },
          domain: { type: 'string', id: 7 },
          attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          doc_string: { type: 'string', id: 6 },
        }),
        ModelProto: msg({
          ir_version: { type: 'int64', id: 1 },
          opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          producer_name: { type: 'string', id: 2 },
          producer_version: { type: 'string', id: 3 },
          domain: { type: 'string', id: 4 },
          model_version: { type: 'int64', id: 5 },
          doc_string: { type: 'string', id: 6 },
          graph: { type: 'GraphProto', id: 7 },
          metadata_props: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
        }),
        StringStringEntryProto: msg({ key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } }),
        GraphProto: msg({
          node: { rule: 'repeated', type: 'NodeProto', id: 1 },
          name: { type: 'string', id: 2 },
          initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
          doc_string: { type: 'string', id: 10 },
          input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
          output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          value_info: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
        }),
        TensorProto: msg(
          {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            float_data: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int32_data: { rule: 'repeated', type: 'int32', id: 5, options: { packed: true } },
            int64_data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
            double_data: { rule: 'repeated', type: 'double', id: 10, options: { packed: true } },
          },
          { DataType: { values: { UNDEFINED: 0, FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } } },
        ),
        TensorShapeProto: msg(
          { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 }, denotation: { type: 'string', id: 3 } },
            },
          },
        ),
        TypeProto: {
          oneofs: { value: { oneof: ['tensor_type'] } },
          fields: { tensor_type: { type: 'Tensor', id: 1 }, denotation: { type: 'string', id: 6 } },
          nested: {
            Tensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        OperatorSetIdProto: msg({ domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } }),
      },
    },
  },
};

/** ONNX TensorProto.DataType codes used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_DOUBLE = 11;

/** Plain-object shapes of the messages above (what protobufjs encodes from and decodes to). */
export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  float_data?: number[];
  int64_data?: number[];
  raw_data?: Uint8Array;
}
export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}
export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}
export interface OnnxValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Array<{ dim_value?: number; dim_param?: string }> } } };
}
export interface OnnxModel {
  ir_version: number;
  opset_import: Array<{ domain: string; version: number }>;
  producer_name?: string;
  producer_version?: string;
  model_version?: number;
  doc_string?: string;
  graph: { node: OnnxNode[]; name: string; initializer: OnnxTensor[]; input: OnnxValueInfo[]; output: OnnxValueInfo[] };
  metadata_props?: Array<{ key: string; value: string }>;
}

let modelType: import('protobufjs').Type | undefined;

/** The ModelProto type (protobufjs loaded on first use). */
export async function onnxModelType(): Promise<import('protobufjs').Type> {
  if (modelType === undefined) {
    const { default: protobuf } = await import('protobufjs/light.js');
    modelType = protobuf.Root.fromJSON(ONNX_DESCRIPTOR).lookupType('onnx.ModelProto');
  }
  return modelType;
}

export async function encodeOnnx(model: OnnxModel): Promise<Uint8Array> {
  const t = await onnxModelType();
  const err = t.verify(model);
  if (err) throw new Error(`invalid ONNX model: ${err}`);
  return t.encode(t.fromObject(model)).finish();
}

/** Decoded model with int64 as numbers (opset versions, dims). Throws on bytes that are not a ModelProto. */
export async function decodeOnnx(bytes: Uint8Array): Promise<OnnxModel> {
  const t = await onnxModelType();
  return t.toObject(t.decode(bytes), { longs: Number, defaults: true, arrays: true }) as OnnxModel;
}
