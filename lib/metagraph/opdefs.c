/* lib/metagraph/opdefs.c - TensorFlow OpDefs (TF 1.10 signatures: argument
 * names, type attrs, attr defaults) for the op types graft exports, written in
 * a compact text form and turned into OpDef messages for stripped_op_list.
 *
 * Entry grammar:  Name(in:ty, ...) -> (out:ty, ...) | attr:kind[=default][>=min] | ... | !flag
 *   ty:   a DataType name (fixed type), a type attr ("T"), "N*T" (number_attr N
 *         of type attr T or of a fixed type), "[dtypes]" (type_list_attr), each
 *         optionally prefixed by "ref ".
 *   kind: bool int float string type shape tensor func list(int) list(type) ...
 *   default: true/false, numbers, "text", a DataType name, [1,2], [] or ? (shape).
 *   flags: !stateful !commutative !aggregate !uninit (allows_uninitialized_input).
 *   A trailing "+" marks an attr added after TF 1.10 (see GRAFTI_MG_NEWER_ATTR). */
#include <stdio.h>
#include <stdlib.h>

#include "mg.h"

static const char *const opdefs[] = {
    /* sources and state */
    "Placeholder() -> (output:dtype) | dtype:type | shape:shape=?",
    "PlaceholderWithDefault(input:dtype) -> (output:dtype) | dtype:type | shape:shape",
    "Const() -> (output:dtype) | value:tensor | dtype:type",
    "VariableV2() -> (ref:ref dtype) | shape:shape | dtype:type | container:string=\"\" | shared_name:string=\"\" "
    "| !stateful",
    "Variable() -> (ref:ref dtype) | shape:shape | dtype:type | container:string=\"\" | shared_name:string=\"\" "
    "| !stateful",
    "VarHandleOp() -> (resource:resource) | container:string=\"\" | shared_name:string=\"\" | dtype:type "
    "| shape:shape | allowed_devices:list(string)=[]+ | !stateful",
    "ReadVariableOp(resource:resource) -> (value:dtype) | dtype:type | !stateful",
    "AssignVariableOp(resource:resource, value:dtype) -> () | dtype:type | !stateful",
    "AssignAddVariableOp(resource:resource, value:dtype) -> () | dtype:type | !stateful",
    "AssignSubVariableOp(resource:resource, value:dtype) -> () | dtype:type | !stateful",
    "VarIsInitializedOp(resource:resource) -> (is_initialized:bool) | !stateful",
    "IsVariableInitialized(ref:ref dtype) -> (is_initialized:bool) | dtype:type | !stateful | !uninit",
    "Assign(ref:ref T, value:T) -> (output_ref:ref T) | T:type | validate_shape:bool=true | use_locking:bool=true "
    "| !uninit",
    "AssignAdd(ref:ref T, value:T) -> (output_ref:ref T) | T:type | use_locking:bool=false",
    "AssignSub(ref:ref T, value:T) -> (output_ref:ref T) | T:type | use_locking:bool=false",
    "NoOp() -> ()",
    "Identity(input:T) -> (output:T) | T:type",
    "IdentityN(input:[T]) -> (output:[T]) | T:list(type)>=1",
    "StopGradient(input:T) -> (output:T) | T:type",
    "PreventGradient(input:T) -> (output:T) | T:type | message:string=\"\"",
    /* element-wise */
    "Add(x:T, y:T) -> (z:T) | T:type",
    "AddV2(x:T, y:T) -> (z:T) | T:type | !commutative | !aggregate",
    "Sub(x:T, y:T) -> (z:T) | T:type",
    "Mul(x:T, y:T) -> (z:T) | T:type | !commutative",
    "Div(x:T, y:T) -> (z:T) | T:type",
    "RealDiv(x:T, y:T) -> (z:T) | T:type",
    "DivNoNan(x:T, y:T) -> (z:T) | T:type",
    "FloorDiv(x:T, y:T) -> (z:T) | T:type",
    "FloorMod(x:T, y:T) -> (z:T) | T:type",
    "Mod(x:T, y:T) -> (z:T) | T:type",
    "Maximum(x:T, y:T) -> (z:T) | T:type | !commutative",
    "Minimum(x:T, y:T) -> (z:T) | T:type | !commutative",
    "Pow(x:T, y:T) -> (z:T) | T:type",
    "SquaredDifference(x:T, y:T) -> (z:T) | T:type | !commutative",
    "Equal(x:T, y:T) -> (z:bool) | T:type | incompatible_shape_error:bool=true+ | !commutative",
    "NotEqual(x:T, y:T) -> (z:bool) | T:type | incompatible_shape_error:bool=true+ | !commutative",
    "Greater(x:T, y:T) -> (z:bool) | T:type | incompatible_shape_error:bool=true+",
    "GreaterEqual(x:T, y:T) -> (z:bool) | T:type | incompatible_shape_error:bool=true+",
    "Less(x:T, y:T) -> (z:bool) | T:type | incompatible_shape_error:bool=true+",
    "LessEqual(x:T, y:T) -> (z:bool) | T:type | incompatible_shape_error:bool=true+",
    "LogicalAnd(x:bool, y:bool) -> (z:bool) | !commutative",
    "LogicalOr(x:bool, y:bool) -> (z:bool) | !commutative",
    "LogicalNot(x:bool) -> (y:bool)",
    "Select(condition:bool, t:T, e:T) -> (output:T) | T:type",
    "Neg(x:T) -> (y:T) | T:type",
    "Abs(x:T) -> (y:T) | T:type",
    "Sign(x:T) -> (y:T) | T:type",
    "Square(x:T) -> (y:T) | T:type",
    "Sqrt(x:T) -> (y:T) | T:type",
    "Rsqrt(x:T) -> (y:T) | T:type",
    "Exp(x:T) -> (y:T) | T:type",
    "Log(x:T) -> (y:T) | T:type",
    "Log1p(x:T) -> (y:T) | T:type",
    "Floor(x:T) -> (y:T) | T:type",
    "Ceil(x:T) -> (y:T) | T:type",
    "Round(x:T) -> (y:T) | T:type",
    "Reciprocal(x:T) -> (y:T) | T:type",
    "Inv(x:T) -> (y:T) | T:type",
    "Sigmoid(x:T) -> (y:T) | T:type",
    "Tanh(x:T) -> (y:T) | T:type",
    "SqrtGrad(y:T, dy:T) -> (z:T) | T:type",
    "RsqrtGrad(y:T, dy:T) -> (z:T) | T:type",
    "SigmoidGrad(y:T, dy:T) -> (z:T) | T:type",
    "TanhGrad(y:T, dy:T) -> (z:T) | T:type",
    "ReciprocalGrad(y:T, dy:T) -> (z:T) | T:type",
    "ClipByValue(t:T, clip_value_min:T, clip_value_max:T) -> (output:T) | T:type",
    "AddN(inputs:N*T) -> (sum:T) | N:int>=1 | T:type | !commutative | !aggregate",
    "Cast(x:SrcT) -> (y:DstT) | SrcT:type | DstT:type | Truncate:bool=false+",
    "ZerosLike(x:T) -> (y:T) | T:type",
    "OnesLike(x:T) -> (y:T) | T:type",
    "L2Loss(t:T) -> (output:T) | T:type",
    /* neural network */
    "MatMul(a:T, b:T) -> (product:T) | transpose_a:bool=false | transpose_b:bool=false | T:type",
    "BiasAdd(value:T, bias:T) -> (output:T) | T:type | data_format:string=\"NHWC\"",
    "BiasAddGrad(out_backprop:T) -> (output:T) | T:type | data_format:string=\"NHWC\"",
    "Relu(features:T) -> (activations:T) | T:type",
    "Relu6(features:T) -> (activations:T) | T:type",
    "Elu(features:T) -> (activations:T) | T:type",
    "Selu(features:T) -> (activations:T) | T:type",
    "LeakyRelu(features:T) -> (activations:T) | alpha:float=0.2 | T:type=float",
    "ReluGrad(gradients:T, features:T) -> (backprops:T) | T:type",
    "Relu6Grad(gradients:T, features:T) -> (backprops:T) | T:type",
    "EluGrad(gradients:T, outputs:T) -> (backprops:T) | T:type",
    "Softmax(logits:T) -> (softmax:T) | T:type",
    "LogSoftmax(logits:T) -> (logsoftmax:T) | T:type",
    "SoftmaxCrossEntropyWithLogits(features:T, labels:T) -> (loss:T, backprop:T) | T:type",
    "SparseSoftmaxCrossEntropyWithLogits(features:T, labels:Tlabels) -> (loss:T, backprop:T) | T:type "
    "| Tlabels:type=int64",
    "Conv2D(input:T, filter:T) -> (output:T) | T:type | strides:list(int) | use_cudnn_on_gpu:bool=true "
    "| padding:string | explicit_paddings:list(int)=[]+ | data_format:string=\"NHWC\" | dilations:list(int)=[1,1,1,1]",
    "Conv2DBackpropInput(input_sizes:int32, filter:T, out_backprop:T) -> (output:T) | T:type | strides:list(int) "
    "| use_cudnn_on_gpu:bool=true | padding:string | explicit_paddings:list(int)=[]+ | data_format:string=\"NHWC\" "
    "| dilations:list(int)=[1,1,1,1]",
    "Conv2DBackpropFilter(input:T, filter_sizes:int32, out_backprop:T) -> (output:T) | T:type "
    "| strides:list(int) | use_cudnn_on_gpu:bool=true | padding:string | explicit_paddings:list(int)=[]+ "
    "| data_format:string=\"NHWC\" | dilations:list(int)=[1,1,1,1]",
    "MaxPool(input:T) -> (output:T) | T:type=float | ksize:list(int)>=4 | strides:list(int)>=4 | padding:string "
    "| data_format:string=\"NHWC\"",
    "MaxPoolGrad(orig_input:T, orig_output:T, grad:T) -> (output:T) | ksize:list(int)>=4 | strides:list(int)>=4 "
    "| padding:string | data_format:string=\"NHWC\" | T:type=float",
    "AvgPool(value:T) -> (output:T) | ksize:list(int)>=4 | strides:list(int)>=4 | padding:string "
    "| data_format:string=\"NHWC\" | T:type",
    "AvgPoolGrad(orig_input_shape:int32, grad:T) -> (output:T) | ksize:list(int)>=4 | strides:list(int)>=4 "
    "| padding:string | data_format:string=\"NHWC\" | T:type",
    /* shapes and data movement */
    "Reshape(tensor:T, shape:Tshape) -> (output:T) | T:type | Tshape:type=int32",
    "Squeeze(input:T) -> (output:T) | T:type | squeeze_dims:list(int)=[]",
    "ExpandDims(input:T, dim:Tdim) -> (output:T) | T:type | Tdim:type=int32",
    "Transpose(x:T, perm:Tperm) -> (y:T) | T:type | Tperm:type=int32",
    "ConcatV2(values:N*T, axis:Tidx) -> (output:T) | N:int>=2 | T:type | Tidx:type=int32",
    "Concat(concat_dim:int32, values:N*T) -> (output:T) | N:int>=2 | T:type",
    "ConcatOffset(concat_dim:int32, shape:N*shape_type) -> (offset:N*shape_type) | N:int>=2 | shape_type:type=int32+",
    "Pack(values:N*T) -> (output:T) | N:int>=1 | T:type | axis:int=0",
    "Unpack(value:T) -> (output:num*T) | num:int>=0 | T:type | axis:int=0",
    "Split(split_dim:int32, value:T) -> (output:num_split*T) | num_split:int>=1 | T:type",
    "Pad(input:T, paddings:Tpaddings) -> (output:T) | T:type | Tpaddings:type=int32",
    "Slice(input:T, begin:Index, size:Index) -> (output:T) | T:type | Index:type",
    "StridedSlice(input:T, begin:Index, end:Index, strides:Index) -> (output:T) | T:type | Index:type "
    "| begin_mask:int=0 | end_mask:int=0 | ellipsis_mask:int=0 | new_axis_mask:int=0 | shrink_axis_mask:int=0",
    "StridedSliceGrad(shape:Index, begin:Index, end:Index, strides:Index, dy:T) -> (output:T) | T:type "
    "| Index:type | begin_mask:int=0 | end_mask:int=0 | ellipsis_mask:int=0 | new_axis_mask:int=0 "
    "| shrink_axis_mask:int=0",
    "Shape(input:T) -> (output:out_type) | T:type | out_type:type=int32",
    "ShapeN(input:N*T) -> (output:N*out_type) | N:int>=1 | T:type | out_type:type=int32",
    "Size(input:T) -> (output:out_type) | T:type | out_type:type=int32",
    "Rank(input:T) -> (output:int32) | T:type",
    "Fill(dims:index_type, value:T) -> (output:T) | T:type | index_type:type=int32",
    "Tile(input:T, multiples:Tmultiples) -> (output:T) | T:type | Tmultiples:type=int32",
    "Range(start:Tidx, limit:Tidx, delta:Tidx) -> (output:Tidx) | Tidx:type=int32",
    "BroadcastGradientArgs(s0:T, s1:T) -> (r0:T, r1:T) | T:type=int32",
    "BroadcastTo(input:T, shape:Tidx) -> (output:T) | T:type | Tidx:type=int32",
    "OneHot(indices:TI, depth:int32, on_value:T, off_value:T) -> (output:T) | axis:int=-1 | T:type "
    "| TI:type=int64",
    "InvertPermutation(x:T) -> (y:T) | T:type=int32",
    "DynamicStitch(indices:N*int32, data:N*T) -> (merged:T) | N:int>=1 | T:type",
    "GatherV2(params:Tparams, indices:Tindices, axis:Taxis) -> (output:Tparams) | batch_dims:int=0+ "
    "| Tparams:type | Tindices:type | Taxis:type",
    "Gather(params:Tparams, indices:Tindices) -> (output:Tparams) | validate_indices:bool=true | Tparams:type "
    "| Tindices:type",
    "UnsortedSegmentSum(data:T, segment_ids:Tindices, num_segments:Tnumsegments) -> (output:T) | T:type "
    "| Tindices:type | Tnumsegments:type=int32",
    "SplitV(value:T, size_splits:Tlen, split_dim:int32) -> (output:num_split*T) | num_split:int>=1 | T:type "
    "| Tlen:type=int64",
    "Softplus(features:T) -> (activations:T) | T:type",
    "SoftplusGrad(gradients:T, features:T) -> (backprops:T) | T:type",
    "Softsign(features:T) -> (activations:T) | T:type",
    "SoftsignGrad(gradients:T, features:T) -> (backprops:T) | T:type",
    "SeluGrad(gradients:T, outputs:T) -> (backprops:T) | T:type",
    /* reductions */
    "Sum(input:T, reduction_indices:Tidx) -> (output:T) | keep_dims:bool=false | T:type | Tidx:type=int32",
    "Mean(input:T, reduction_indices:Tidx) -> (output:T) | keep_dims:bool=false | T:type | Tidx:type=int32",
    "Max(input:T, reduction_indices:Tidx) -> (output:T) | keep_dims:bool=false | T:type | Tidx:type=int32",
    "Min(input:T, reduction_indices:Tidx) -> (output:T) | keep_dims:bool=false | T:type | Tidx:type=int32",
    "Prod(input:T, reduction_indices:Tidx) -> (output:T) | keep_dims:bool=false | T:type | Tidx:type=int32",
    "ArgMax(input:T, dimension:Tidx) -> (output:output_type) | T:type | Tidx:type=int32 "
    "| output_type:type=int64",
    "ArgMin(input:T, dimension:Tidx) -> (output:output_type) | T:type | Tidx:type=int32 "
    "| output_type:type=int64",
    /* random */
    "RandomUniform(shape:T) -> (output:dtype) | seed:int=0 | seed2:int=0 | dtype:type | T:type | !stateful",
    "RandomStandardNormal(shape:T) -> (output:dtype) | seed:int=0 | seed2:int=0 | dtype:type | T:type "
    "| !stateful",
    "TruncatedNormal(shape:T) -> (output:dtype) | seed:int=0 | seed2:int=0 | dtype:type | T:type | !stateful",
    /* training */
    "ApplyGradientDescent(var:ref T, alpha:T, delta:T) -> (out:ref T) | T:type | use_locking:bool=false",
    "ApplyMomentum(var:ref T, accum:ref T, lr:T, grad:T, momentum:T) -> (out:ref T) | T:type "
    "| use_locking:bool=false | use_nesterov:bool=false",
    "ApplyAdam(var:ref T, m:ref T, v:ref T, beta1_power:T, beta2_power:T, lr:T, beta1:T, beta2:T, epsilon:T, "
    "grad:T) -> (out:ref T) | T:type | use_locking:bool=false | use_nesterov:bool=false",
    "ResourceApplyGradientDescent(var:resource, alpha:T, delta:T) -> () | T:type | use_locking:bool=false "
    "| !stateful",
    "ResourceApplyMomentum(var:resource, accum:resource, lr:T, grad:T, momentum:T) -> () | T:type "
    "| use_locking:bool=false | use_nesterov:bool=false | !stateful",
    "ResourceApplyAdam(var:resource, m:resource, v:resource, beta1_power:T, beta2_power:T, lr:T, beta1:T, "
    "beta2:T, epsilon:T, grad:T) -> () | T:type | use_locking:bool=false | use_nesterov:bool=false | !stateful",
    /* checkpoint I/O (the Saver's nodes) */
    "SaveV2(prefix:string, tensor_names:string, shape_and_slices:string, tensors:[dtypes]) -> () "
    "| dtypes:list(type)>=1 | !stateful",
    "RestoreV2(prefix:string, tensor_names:string, shape_and_slices:string) -> (tensors:[dtypes]) "
    "| dtypes:list(type)>=1 | !stateful",
    "MergeV2Checkpoints(checkpoint_prefixes:string, destination_prefix:string) -> () "
    "| delete_old_dirs:bool=true | allow_missing_files:bool=false+ | !stateful",
    "ShardedFilename(basename:string, shard:int32, num_shards:int32) -> (filename:string)",
    "ShardedFilespec(basename:string, num_shards:int32) -> (filename:string)",
    "StringJoin(inputs:N*string) -> (output:string) | N:int>=1 | separator:string=\"\"",
    "Cumprod(x:T, axis:Tidx) -> (out:T) | exclusive:bool=false | reverse:bool=false | T:type | Tidx:type=int32",
    "Cumsum(x:T, axis:Tidx) -> (out:T) | exclusive:bool=false | reverse:bool=false | T:type | Tidx:type=int32",
    /* TF ops graft imports inert: their signatures let re-imports type the outputs */
    "Switch(data:T, pred:bool) -> (output_false:T, output_true:T) | T:type",
    "Merge(inputs:N*T) -> (output:T, value_index:int32) | T:type | N:int>=1",
    "SparseToDense(sparse_indices:Tindices, output_shape:Tindices, sparse_values:T, default_value:T) -> (dense:T) "
    "| validate_indices:bool=true | T:type | Tindices:type",
    "ScalarSummary(tags:string, values:T) -> (summary:string) | T:type",
    "HistogramSummary(tag:string, values:T) -> (summary:string) | T:type=float",
    "MergeSummary(inputs:N*string) -> (summary:string) | N:int>=1",
    "SaveSlices(filename:string, tensor_names:string, shapes_and_slices:string, data:[T]) -> () | T:list(type)>=1 "
    "| !stateful",
    "RestoreSlice(file_pattern:string, tensor_name:string, shape_and_slice:string) -> (tensor:dt) | dt:type "
    "| preferred_shard:int=-1 | !stateful",
    "Restore(file_pattern:string, tensor_name:string) -> (tensor:dt) | dt:type | preferred_shard:int=-1 | !stateful",
    NULL,
};

const char *graftI_mg_opdef_name(int i)
{
    static char buf[64];
    if (i < 0 || i >= (int)(sizeof opdefs / sizeof opdefs[0]) - 1) return NULL;
    const char *p = opdefs[i];
    size_t n = strcspn(p, "(");
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static const char *find_spec(const char *type)
{
    size_t tl = strlen(type);
    for (int i = 0; opdefs[i]; i++)
        if (!strncmp(opdefs[i], type, tl) && opdefs[i][tl] == '(') return opdefs[i];
    return NULL;
}

/* ---- tiny tokenizer over one entry --------------------------------------------------- */
typedef struct tk {
    const char *p;
    mgI_arena *a;
    bool bad;
} tk;

static void sk(tk *t)
{
    while (*t->p == ' ') t->p++;
}

/* Copies characters of the identifier charset. */
static char *ident(tk *t)
{
    sk(t);
    const char *b = t->p;
    while ((*t->p >= 'a' && *t->p <= 'z') || (*t->p >= 'A' && *t->p <= 'Z') || (*t->p >= '0' && *t->p <= '9') ||
           *t->p == '_')
        t->p++;
    if (t->p == b) {
        t->bad = true;
        return NULL;
    }
    char *s = graftI_arena_alloc(t->a, (size_t)(t->p - b) + 1);
    if (s) memcpy(s, b, (size_t)(t->p - b));
    return s;
}

static bool eat(tk *t, const char *s)
{
    sk(t);
    size_t n = strlen(s);
    if (strncmp(t->p, s, n)) return false;
    t->p += n;
    return true;
}

static int dtype_by_name(const char *s)
{
    for (int dt = 1; dt <= 23; dt++) {
        const char *n = graftI_tf_dtype_name(dt);
        if (n && !strcmp(n, s)) return dt;
    }
    if (!strcmp(s, "float32")) return 1;
    if (!strcmp(s, "float64")) return 2;
    return 0;
}

static Tensorflow__OpDef__ArgDef *parse_arg(tk *t)
{
    Tensorflow__OpDef__ArgDef *a = graftI_arena_alloc(t->a, sizeof *a);
    if (!a) return NULL;
    tensorflow__op_def__arg_def__init(a);
    a->name = ident(t);
    if (!eat(t, ":")) t->bad = true;
    if (eat(t, "ref ")) a->is_ref = 1;
    if (eat(t, "[")) {
        a->type_list_attr = ident(t);
        if (!eat(t, "]")) t->bad = true;
        return a;
    }
    char *x = ident(t);
    if (!x) return NULL;
    if (eat(t, "*")) {
        a->number_attr = x;
        x = ident(t);
        if (!x) return NULL;
    }
    int dt = dtype_by_name(x);
    if (dt) a->type = (Tensorflow__DataType)dt;
    else a->type_attr = x;
    return a;
}

/* ( arg, arg ) into a growing array */
static void parse_args(tk *t, Tensorflow__OpDef__ArgDef ***out, size_t *n)
{
    if (!eat(t, "(")) {
        t->bad = true;
        return;
    }
    Tensorflow__OpDef__ArgDef *tmp[16];
    size_t k = 0;
    if (!eat(t, ")")) {
        for (;;) {
            if (k == 16) {
                t->bad = true;
                return;
            }
            tmp[k++] = parse_arg(t);
            if (t->bad) return;
            if (eat(t, ")")) break;
            if (!eat(t, ",")) {
                t->bad = true;
                return;
            }
        }
    }
    if (k) {
        *out = graftI_arena_alloc(t->a, k * sizeof **out);
        if (!*out) return;
        memcpy(*out, tmp, k * sizeof *tmp);
    }
    *n = k;
}

static Tensorflow__AttrValue *av_new(mgI_arena *a, Tensorflow__AttrValue__ValueCase c)
{
    Tensorflow__AttrValue *v = graftI_arena_alloc(a, sizeof *v);
    if (!v) return NULL;
    tensorflow__attr_value__init(v);
    v->value_case = c;
    return v;
}

static Tensorflow__AttrValue *av_list(mgI_arena *a)
{
    Tensorflow__AttrValue *v = av_new(a, TENSORFLOW__ATTR_VALUE__VALUE_LIST);
    if (!v) return NULL;
    v->list = graftI_arena_alloc(a, sizeof *v->list);
    if (!v->list) return NULL;
    tensorflow__attr_value__list_value__init(v->list);
    return v;
}

/* default text for an attr of `kind` */
static Tensorflow__AttrValue *parse_default(tk *t, const char *kind)
{
    sk(t);
    mgI_arena *a = t->a;
    if (!strcmp(kind, "bool")) {
        Tensorflow__AttrValue *v = av_new(a, TENSORFLOW__ATTR_VALUE__VALUE_B);
        if (eat(t, "true")) v->b = 1;
        else if (!eat(t, "false")) t->bad = true;
        return v;
    }
    if (!strcmp(kind, "int") || !strcmp(kind, "float")) {
        char *end;
        double d = strtod(t->p, &end);
        if (end == t->p) t->bad = true;
        t->p = end;
        Tensorflow__AttrValue *v = av_new(a, kind[0] == 'i' ? TENSORFLOW__ATTR_VALUE__VALUE_I
                                                            : TENSORFLOW__ATTR_VALUE__VALUE_F);
        if (v && kind[0] == 'i') v->i = (int64_t)d;
        else if (v) v->f = (float)d;
        return v;
    }
    if (!strcmp(kind, "string")) {
        if (!eat(t, "\"")) {
            t->bad = true;
            return NULL;
        }
        const char *b = t->p;
        while (*t->p && *t->p != '"') t->p++;
        size_t n = (size_t)(t->p - b);
        if (!eat(t, "\"")) t->bad = true;
        Tensorflow__AttrValue *v = av_new(a, TENSORFLOW__ATTR_VALUE__VALUE_S);
        if (!v) return NULL;
        v->s.data = graftI_arena_alloc(a, n + 1);
        if (v->s.data && n) memcpy(v->s.data, b, n);
        v->s.len = n;
        return v;
    }
    if (!strcmp(kind, "type")) {
        char *x = ident(t);
        int dt = x ? dtype_by_name(x) : 0;
        if (!dt) t->bad = true;
        Tensorflow__AttrValue *v = av_new(a, TENSORFLOW__ATTR_VALUE__VALUE_TYPE);
        if (v) v->type = (Tensorflow__DataType)dt;
        return v;
    }
    if (!strcmp(kind, "shape")) {
        if (!eat(t, "?")) t->bad = true;
        Tensorflow__AttrValue *v = av_new(a, TENSORFLOW__ATTR_VALUE__VALUE_SHAPE);
        graft_shape s = graft_shape_unknown();
        if (v) v->shape = graftI_mg_shape_proto(a, &s);
        return v;
    }
    if (!strncmp(kind, "list(", 5)) {
        Tensorflow__AttrValue *v = av_list(a);
        if (!v) return NULL;
        if (!eat(t, "[")) {
            t->bad = true;
            return v;
        }
        int64_t tmp[16];
        size_t k = 0;
        while (!eat(t, "]")) {
            char *end;
            long long x = strtoll(t->p, &end, 10);
            if (end == t->p || k == 16 || strcmp(kind, "list(int)")) {
                t->bad = true;
                return v;
            }
            t->p = end;
            tmp[k++] = x;
            eat(t, ",");
        }
        if (k) {
            v->list->i = graftI_arena_alloc(a, k * sizeof(int64_t));
            if (v->list->i) memcpy(v->list->i, tmp, k * sizeof(int64_t));
            v->list->n_i = k;
        }
        return v;
    }
    t->bad = true;
    return NULL;
}

Tensorflow__OpDef *graftI_mg_opdef(mgI_arena *a, const char *type, graft_status *st)
{
    const char *spec = find_spec(type);
    if (!spec) return NULL;
    tk t = {spec, a, false};
    Tensorflow__OpDef *d = graftI_arena_alloc(a, sizeof *d);
    if (!d) return NULL;
    tensorflow__op_def__init(d);
    d->name = ident(&t);
    parse_args(&t, &d->input_arg, &d->n_input_arg);
    if (!eat(&t, "->")) t.bad = true;
    parse_args(&t, &d->output_arg, &d->n_output_arg);
    Tensorflow__OpDef__AttrDef *attrs[16];
    size_t na = 0;
    while (!t.bad && eat(&t, "|")) {
        if (eat(&t, "!")) {
            char *f = ident(&t);
            if (!f) break;
            if (!strcmp(f, "stateful")) d->is_stateful = 1;
            else if (!strcmp(f, "commutative")) d->is_commutative = 1;
            else if (!strcmp(f, "aggregate")) d->is_aggregate = 1;
            else if (!strcmp(f, "uninit")) d->allows_uninitialized_input = 1;
            else t.bad = true;
            continue;
        }
        if (na == 16) {
            t.bad = true;
            break;
        }
        Tensorflow__OpDef__AttrDef *ad = graftI_arena_alloc(a, sizeof *ad);
        if (!ad) return NULL;
        tensorflow__op_def__attr_def__init(ad);
        ad->name = ident(&t);
        if (!eat(&t, ":")) t.bad = true;
        sk(&t);
        const char *kb = t.p;
        while (*t.p && *t.p != ' ' && *t.p != '=' && *t.p != '>' && *t.p != '|') t.p++;
        ad->type = graftI_arena_alloc(a, (size_t)(t.p - kb) + 1);
        if (!ad->type) return NULL;
        memcpy(ad->type, kb, (size_t)(t.p - kb));
        if (eat(&t, "=")) ad->default_value = parse_default(&t, ad->type);
        if (eat(&t, ">=")) {
            char *end;
            ad->minimum = strtoll(t.p, &end, 10);
            ad->has_minimum = 1;
            t.p = end;
        }
        /* "+": an attr newer than TF 1.10; the exporter leaves it out when it
         * holds its default, so older TensorFlow imports the node */
        if (eat(&t, "+")) ad->description = (char *)GRAFTI_MG_NEWER_ATTR;
        attrs[na++] = ad;
    }
    sk(&t);
    if (t.bad || *t.p) {
        graft_status_set(st, GRAFT_ERR_INTERNAL, "graft's OpDef table entry for %s is malformed near '%.20s'", type,
                         t.p);
        return NULL;
    }
    if (na) {
        d->attr = graftI_arena_alloc(a, na * sizeof *d->attr);
        if (!d->attr) return NULL;
        memcpy(d->attr, attrs, na * sizeof *attrs);
        d->n_attr = na;
    }
    return graftI_arena_failed(a) ? NULL : d;
}
