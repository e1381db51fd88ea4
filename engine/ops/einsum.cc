// Einsum (opset 12): the equation's parser (einsum.h), the shape rule, and a
// host kernel for any equation and any number of operands: each output
// element sums, over the labels absent from the output, the product of the
// operands read through per-label strides (a repeated label's strides add
// up, which reads a diagonal; a broadcast dim's stride is 0). The executor
// runs two-operand contractions as oneDNN matmuls
// (runtime/lower/einsum.cc) and everything else here.
#include "engine/ops/einsum.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/op_families.h"

namespace mixq {
namespace {

// One term of an equation: its letters, and where "..." sits among them
// (-1: no ellipsis).
struct Term {
  std::string letters;
  int ellipsis_at = -1;
};

StatusOr<Term> ParseTerm(const std::string& text) {
  Term term;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "...") == 0) {
      if (term.ellipsis_at >= 0) return InvalidArgument("term '" + text + "' has two ellipses");
      term.ellipsis_at = static_cast<int>(term.letters.size());
      i += 3;
    } else if (std::isalpha(static_cast<unsigned char>(text[i]))) {
      term.letters += text[i++];
    } else {
      return InvalidArgument("term '" + text + "' has the character '" + text.substr(i, 1) +
                             "'; labels are letters");
    }
  }
  return term;
}

// Extent of a label from all its occurrences; ellipsis dims broadcast from 1.
StatusOr<int64_t> MergeSizes(const std::vector<int64_t>& dims, bool broadcasts,
                             const std::string& label) {
  int64_t size = -1;
  bool unknown = false;
  for (int64_t d : dims) {
    if (d < 0) {
      unknown = true;
    } else if (size < 0 || (broadcasts && size == 1)) {
      size = d;
    } else if (d != size && !(broadcasts && d == 1)) {
      return InvalidArgument("label " + label + " has sizes " + std::to_string(size) + " and " +
                             std::to_string(d));
    }
  }
  if (unknown && (size < 0 || (broadcasts && size == 1))) return int64_t{-1};
  return size;
}

}  // namespace

StatusOr<EinsumLabels> ResolveEinsum(const std::string& equation,
                                     const std::vector<Shape>& shapes) {
  std::string eq;
  for (char c : equation) {
    if (!std::isspace(static_cast<unsigned char>(c))) eq += c;
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t begin = 0;;) {
    const size_t comma = lhs.find(',', begin);
    MIXQ_ASSIGN_OR_RETURN(Term term, ParseTerm(lhs.substr(begin, comma - begin)));
    terms.push_back(std::move(term));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  if (terms.size() != shapes.size()) {
    return InvalidArgument("equation '" + equation + "' has " + std::to_string(terms.size()) +
                           " terms for " + std::to_string(shapes.size()) + " operands");
  }
  // Ellipsis dims per operand, and the widest (the output's).
  int ellipsis = 0;
  std::vector<int> ellipsis_dims(terms.size(), 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    const int rank = static_cast<int>(shapes[k].size());
    const int named = static_cast<int>(terms[k].letters.size());
    const int extra = rank - named;
    if (extra < 0 || (terms[k].ellipsis_at < 0 && extra != 0)) {
      return InvalidArgument("term " + std::to_string(k) + " of '" + equation + "' names " +
                             std::to_string(named) + " dims of an operand of rank " +
                             std::to_string(rank));
    }
    ellipsis_dims[k] = extra;
    ellipsis = std::max(ellipsis, extra);
  }
  // Labels: the ellipsis positions first, then letters as they first occur.
  EinsumLabels out;
  std::map<char, int> letter_label;
  std::map<char, int> letter_count;
  std::vector<std::vector<int64_t>> occurrences(ellipsis);
  std::vector<std::string> names;
  for (int e = 0; e < ellipsis; ++e) names.push_back("...[" + std::to_string(e) + "]");
  for (size_t k = 0; k < terms.size(); ++k) {
    std::vector<int> labels;
    const Term& term = terms[k];
    for (int i = 0; i <= static_cast<int>(term.letters.size()); ++i) {
      if (i == term.ellipsis_at) {
        for (int e = ellipsis - ellipsis_dims[k]; e < ellipsis; ++e) labels.push_back(e);
      }
      if (i == static_cast<int>(term.letters.size())) break;
      const char c = term.letters[static_cast<size_t>(i)];
      auto [it, added] = letter_label.emplace(c, static_cast<int>(occurrences.size()));
      if (added) {
        occurrences.emplace_back();
        names.push_back(std::string(1, c));
      }
      ++letter_count[c];
      labels.push_back(it->second);
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      occurrences[static_cast<size_t>(labels[d])].push_back(shapes[k][d]);
    }
    out.inputs.push_back(std::move(labels));
  }
  for (size_t l = 0; l < occurrences.size(); ++l) {
    MIXQ_ASSIGN_OR_RETURN(int64_t size,
                          MergeSizes(occurrences[l], static_cast<int>(l) < ellipsis, names[l]));
    out.sizes.push_back(size);
  }
  if (arrow == std::string::npos) {
    for (int e = 0; e < ellipsis; ++e) out.output.push_back(e);
    for (const auto& [c, count] : letter_count) {
      if (count == 1) out.output.push_back(letter_label.at(c));
    }
    return out;
  }
  MIXQ_ASSIGN_OR_RETURN(Term result, ParseTerm(eq.substr(arrow + 2)));
  if (result.letters.find_first_of(",-") != std::string::npos) {
    return InvalidArgument("equation '" + equation + "' has a malformed output");
  }
  for (int i = 0; i <= static_cast<int>(result.letters.size()); ++i) {
    if (i == result.ellipsis_at) {
      for (int e = 0; e < ellipsis; ++e) out.output.push_back(e);
    }
    if (i == static_cast<int>(result.letters.size())) break;
    const char c = result.letters[static_cast<size_t>(i)];
    auto it = letter_label.find(c);
    if (it == letter_label.end()) {
      return InvalidArgument("output label " + std::string(1, c) + " of '" + equation +
                             "' is not in any operand");
    }
    if (std::count(out.output.begin(), out.output.end(), it->second) != 0) {
      return InvalidArgument("output label " + std::string(1, c) + " of '" + equation +
                             "' is repeated");
    }
    out.output.push_back(it->second);
  }
  return out;
}

namespace {

StatusOr<bool> EinsumShape(ShapeContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.Invalid("has no inputs");
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(ctx.num_inputs(), ctx.num_inputs()));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  if (!ctx.attrs().Has("equation")) return ctx.Invalid("attribute 'equation' is missing");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.InType(i) != ctx.InType(0)) return ctx.Invalid("operands differ in element type");
    shapes.push_back(ctx.InShape(i));
  }
  StatusOr<EinsumLabels> labels = ResolveEinsum(ctx.attrs().String("equation", ""), shapes);
  if (!labels.ok()) return ctx.Invalid(labels.status().message());
  Shape out;
  for (int label : labels->output) out.push_back(labels->sizes[static_cast<size_t>(label)]);
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

// Per operand and label: the element stride that advancing the label moves
// the operand by (summed over the dims carrying it; 0 where it broadcasts).
std::vector<std::vector<int64_t>> LabelStrides(const EinsumLabels& labels,
                                               const std::vector<ConstView>& inputs) {
  std::vector<std::vector<int64_t>> strides;
  for (size_t k = 0; k < inputs.size(); ++k) {
    std::vector<int64_t> per_label(static_cast<size_t>(labels.num_labels()), 0);
    const Shape& shape = inputs[k].shape;
    int64_t stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      const size_t label = static_cast<size_t>(labels.inputs[k][d]);
      if (shape[d] != 1 || labels.sizes[label] == 1) per_label[label] += stride;
      stride *= shape[d];
    }
    strides.push_back(std::move(per_label));
  }
  return strides;
}

Status EinsumHost(const Node& node, const std::vector<ConstView>& inputs,
                  const std::vector<MutView>& outputs, const Parallelism& par) {
  const MutView& y = outputs[0];
  if (y.dtype == DType::kF16 || y.dtype == DType::kBool) {
    return Unimplemented(std::string("Einsum on ") + DTypeName(y.dtype));
  }
  std::vector<Shape> shapes;
  for (const ConstView& in : inputs) shapes.push_back(in.shape);
  MIXQ_ASSIGN_OR_RETURN(EinsumLabels labels,
                        ResolveEinsum(node.attrs.String("equation", ""), shapes));
  const std::vector<std::vector<int64_t>> strides = LabelStrides(labels, inputs);
  std::vector<int> summed;
  for (int l = 0; l < labels.num_labels(); ++l) {
    if (std::count(labels.output.begin(), labels.output.end(), l) == 0) summed.push_back(l);
  }
  int64_t terms = 1;
  for (int l : summed) terms *= labels.sizes[static_cast<size_t>(l)];
  const size_t operands = inputs.size();
  VisitDType(y.dtype, [&](auto zero) {
    using T = decltype(zero);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    T* yd = y.as<T>();
    ParallelFor(par, y.size, 256, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> base(operands), offset(operands), index(summed.size());
      for (int64_t i = begin; i < end; ++i) {
        // The operands' offsets at output element i, with every summed label at 0.
        std::fill(base.begin(), base.end(), 0);
        for (size_t d = labels.output.size(), rest = static_cast<size_t>(i); d-- > 0;) {
          const size_t label = static_cast<size_t>(labels.output[d]);
          const size_t size = static_cast<size_t>(labels.sizes[label]);
          const int64_t at = static_cast<int64_t>(rest % size);
          rest /= size;
          for (size_t k = 0; k < operands; ++k) base[k] += at * strides[k][label];
        }
        offset = base;
        std::fill(index.begin(), index.end(), 0);
        Acc acc = 0;
        for (int64_t t = 0; t < terms; ++t) {
          Acc product = 1;
          for (size_t k = 0; k < operands; ++k) {
            product *= static_cast<Acc>(inputs[k].as<T>()[offset[k]]);
          }
          acc += product;
          // Next summed index (odometer, last label fastest).
          for (size_t s = summed.size(); s-- > 0;) {
            const size_t label = static_cast<size_t>(summed[s]);
            for (size_t k = 0; k < operands; ++k) offset[k] += strides[k][label];
            if (++index[s] < labels.sizes[label]) break;
            for (size_t k = 0; k < operands; ++k) offset[k] -= index[s] * strides[k][label];
            index[s] = 0;
          }
        }
        yd[i] = static_cast<T>(acc);
      }
    });
  });
  return Status::Ok();
}

}  // namespace

const OpDef* EinsumOpDef(OpType op) {
  static constexpr OpDef kEinsum{EinsumShape, EinsumHost};
  return op == OpType::kEinsum ? &kEinsum : nullptr;
}

}  // namespace mixq
