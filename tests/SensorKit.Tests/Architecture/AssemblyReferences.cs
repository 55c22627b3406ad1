using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace SensorKit.Tests.Architecture;

/// <summary>What a type of an assembly is: enough to tell a contract (interface, enum, record, delegate) from an implementation.</summary>
internal sealed record TypeShape(string FullName, string Namespace, bool IsContract);

/// <summary>One type of an assembly using another type: in a signature, a base type, a field, or the IL of a method body.</summary>
internal sealed record TypeUse(string From, string FromNamespace, string To, string ToNamespace, string Where);

/// <summary>
/// Reads an assembly's metadata with System.Reflection.Metadata: its assembly references, its types, and every type
/// each type uses (base type, interfaces, fields, method and property signatures, and the IL of method bodies).
/// Nested and compiler-generated types (closures, state machines) count as their outermost type.
/// </summary>
internal sealed class AssemblyReferences
{
    private static readonly Dictionary<short, OperandType> s_operands = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    private AssemblyReferences(string name, IReadOnlyList<string> references, IReadOnlyList<TypeShape> types, IReadOnlyList<TypeUse> uses)
    {
        Name = name;
        References = references;
        Types = types;
        Uses = uses;
    }

    public string Name { get; }

    /// <summary>Names of the assemblies it references.</summary>
    public IReadOnlyList<string> References { get; }

    public IReadOnlyList<TypeShape> Types { get; }

    public IReadOnlyList<TypeUse> Uses { get; }

    public static AssemblyReferences Read(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        MetadataReader md = pe.GetMetadataReader();
        var names = new Names(md);
        var references = md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).ToList();
        var types = new List<TypeShape>();
        var uses = new HashSet<TypeUse>();
        var provider = new SignatureNames(names);
        foreach (TypeDefinitionHandle th in md.TypeDefinitions)
        {
            TypeDefinition t = md.GetTypeDefinition(th);
            (string from, string ns) = names.Outermost(th);
            if (from == "<Module>")
            {
                continue;
            }

            if (t.GetDeclaringType().IsNil)
            {
                types.Add(new TypeShape(from, ns, IsContract(md, t, names)));
            }

            void Use(IEnumerable<string> targets, string where)
            {
                foreach (string target in targets)
                {
                    if (target != from)
                    {
                        uses.Add(new TypeUse(from, ns, target, Names.NamespaceOf(target), where));
                    }
                }
            }

            if (!t.BaseType.IsNil)
            {
                Use(names.Of(t.BaseType, provider), "base type");
            }

            foreach (InterfaceImplementationHandle ih in t.GetInterfaceImplementations())
            {
                Use(names.Of(md.GetInterfaceImplementation(ih).Interface, provider), "interface");
            }

            foreach (FieldDefinitionHandle fh in t.GetFields())
            {
                FieldDefinition f = md.GetFieldDefinition(fh);
                Use(f.DecodeSignature(provider, null), $"field {md.GetString(f.Name)}");
            }

            foreach (MethodDefinitionHandle mh in t.GetMethods())
            {
                MethodDefinition m = md.GetMethodDefinition(mh);
                string method = md.GetString(m.Name);
                MethodSignature<IEnumerable<string>> sig = m.DecodeSignature(provider, null);
                Use(sig.ReturnType.Concat(sig.ParameterTypes.SelectMany(p => p)), $"signature of {method}");
                if (m.RelativeVirtualAddress != 0)
                {
                    Use(BodyReferences(pe.GetMethodBody(m.RelativeVirtualAddress), names, provider), $"body of {method}");
                }
            }
        }

        return new AssemblyReferences(md.GetString(md.GetAssemblyDefinition().Name), references, types, [.. uses]);
    }

    private static bool IsContract(MetadataReader md, TypeDefinition t, Names names)
    {
        if ((t.Attributes & System.Reflection.TypeAttributes.Interface) != 0)
        {
            return true;
        }

        string? baseType = t.BaseType.IsNil ? null : names.Of(t.BaseType, new SignatureNames(names)).FirstOrDefault();
        if (baseType is "System.Enum" or "System.MulticastDelegate")
        {
            return true;
        }

        // A record: the compiler gives a record class a Clone method and an EqualityContract, and every record
        // (record struct too) a PrintMembers method.
        return t.GetMethods().Any(h => md.GetString(md.GetMethodDefinition(h).Name) is "<Clone>$" or "PrintMembers")
            || t.GetProperties().Any(h => md.GetString(md.GetPropertyDefinition(h).Name) == "EqualityContract");
    }

    private static List<string> BodyReferences(MethodBodyBlock body, Names names, SignatureNames provider)
    {
        var found = new List<string>();
        BlobReader il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            short code = il.ReadByte();
            if (code == 0xFE)
            {
                code = unchecked((short)(0xFE00 | il.ReadByte()));
            }

            switch (s_operands[code])
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    int targets = il.ReadInt32();
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    found.AddRange(names.Of(MetadataTokens.EntityHandle(il.ReadInt32()), provider));
                    break;
                default:
                    il.Offset += 4;
                    break;
            }
        }

        if (!body.LocalSignature.IsNil)
        {
            StandaloneSignature locals = names.Reader.GetStandaloneSignature(body.LocalSignature);
            found.AddRange(locals.DecodeLocalSignature(provider, null).SelectMany(l => l));
        }

        return found;
    }

    /// <summary>Full names of what a handle stands for: a type, or the declaring type (and signature) of a member.</summary>
    private sealed class Names(MetadataReader md)
    {
        public MetadataReader Reader => md;

        public static string NamespaceOf(string fullName)
        {
            int dot = fullName.LastIndexOf('.');
            return dot < 0 ? string.Empty : fullName[..dot];
        }

        public (string Name, string Namespace) Outermost(TypeDefinitionHandle h)
        {
            TypeDefinition t = md.GetTypeDefinition(h);
            while (!t.GetDeclaringType().IsNil)
            {
                t = md.GetTypeDefinition(t.GetDeclaringType());
            }

            string ns = md.GetString(t.Namespace);
            string name = md.GetString(t.Name);
            int tick = name.IndexOf('`', StringComparison.Ordinal);
            name = tick < 0 ? name : name[..tick];
            return (ns.Length == 0 ? name : $"{ns}.{name}", ns);
        }

        public string Of(TypeReferenceHandle h)
        {
            TypeReference t = md.GetTypeReference(h);
            if (t.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                return Of((TypeReferenceHandle)t.ResolutionScope);
            }

            string ns = md.GetString(t.Namespace);
            string name = md.GetString(t.Name);
            int tick = name.IndexOf('`', StringComparison.Ordinal);
            name = tick < 0 ? name : name[..tick];
            return ns.Length == 0 ? name : $"{ns}.{name}";
        }

        public IEnumerable<string> Of(EntityHandle h, SignatureNames provider)
        {
            switch (h.Kind)
            {
                case HandleKind.TypeDefinition:
                    return [Outermost((TypeDefinitionHandle)h).Name];
                case HandleKind.TypeReference:
                    return [Of((TypeReferenceHandle)h)];
                case HandleKind.TypeSpecification:
                    return md.GetTypeSpecification((TypeSpecificationHandle)h).DecodeSignature(provider, null);
                case HandleKind.FieldDefinition:
                    return [Outermost(md.GetFieldDefinition((FieldDefinitionHandle)h).GetDeclaringType()).Name];
                case HandleKind.MethodDefinition:
                    return [Outermost(md.GetMethodDefinition((MethodDefinitionHandle)h).GetDeclaringType()).Name];
                case HandleKind.MemberReference:
                    MemberReference member = md.GetMemberReference((MemberReferenceHandle)h);
                    IEnumerable<string> parent = member.Parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification
                        ? Of(member.Parent, provider)
                        : [];
                    IEnumerable<string> signature = member.GetKind() == MemberReferenceKind.Method
                        ? member.DecodeMethodSignature(provider, null) is var s ? s.ReturnType.Concat(s.ParameterTypes.SelectMany(p => p)) : []
                        : member.DecodeFieldSignature(provider, null);
                    return parent.Concat(signature);
                case HandleKind.MethodSpecification:
                    MethodSpecification spec = md.GetMethodSpecification((MethodSpecificationHandle)h);
                    return Of(spec.Method, provider).Concat(spec.DecodeSignature(provider, null).SelectMany(a => a));
                default:
                    return [];
            }
        }
    }

    /// <summary>A signature as the full names of the types in it.</summary>
    private sealed class SignatureNames(Names names) : ISignatureTypeProvider<IEnumerable<string>, object?>
    {
        public IEnumerable<string> GetArrayType(IEnumerable<string> elementType, ArrayShape shape) => elementType;

        public IEnumerable<string> GetByReferenceType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetFunctionPointerType(MethodSignature<IEnumerable<string>> signature) =>
            signature.ReturnType.Concat(signature.ParameterTypes.SelectMany(p => p));

        public IEnumerable<string> GetGenericInstantiation(IEnumerable<string> genericType, ImmutableArray<IEnumerable<string>> typeArguments) =>
            genericType.Concat(typeArguments.SelectMany(a => a));

        public IEnumerable<string> GetGenericMethodParameter(object? genericContext, int index) => [];

        public IEnumerable<string> GetGenericTypeParameter(object? genericContext, int index) => [];

        public IEnumerable<string> GetModifiedType(IEnumerable<string> modifier, IEnumerable<string> unmodifiedType, bool isRequired) => unmodifiedType;

        public IEnumerable<string> GetPinnedType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetPointerType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetPrimitiveType(PrimitiveTypeCode typeCode) => [];

        public IEnumerable<string> GetSZArrayType(IEnumerable<string> elementType) => elementType;

        public IEnumerable<string> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => [names.Outermost(handle).Name];

        public IEnumerable<string> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => [names.Of(handle)];

        public IEnumerable<string> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
    }
}
