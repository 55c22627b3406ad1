using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SensorKit.Hosting;

/// <summary>A configuration section bound to an options type with <see cref="StrictConfiguration.BindStrictly{TOptions}"/>.</summary>
/// <param name="EntryName">Names a list entry in messages better than its index, e.g. by its id; null: the index.</param>
public sealed record StrictSection(string Path, Type OptionsType, Func<IConfigurationSection, Type, string>? EntryName = null);

/// <summary>A key that binds to no property: its full path (e.g. "Broker:Tlss") and the type it was read for.</summary>
public sealed record UnknownKey(string Path, Type Owner);

/// <summary>
/// Configuration sections that refuse keys binding to nothing, so a misspelt or not yet supported key (Broker:Tlss)
/// stops the host instead of being silently ignored. Detection is the binder's own
/// (<see cref="BinderOptions.ErrorOnUnknownConfiguration"/>); its message names neither the section nor the list
/// entry, so <see cref="Find"/> walks the section along the options type to name the full key.
/// </summary>
public static class StrictConfiguration
{
    /// <summary>The binder's message when <see cref="BinderOptions.ErrorOnUnknownConfiguration"/> refused a key (it also wraps errors in list entries).</summary>
    internal const string BinderMessageStart = "'ErrorOnUnknownConfiguration' was set";

    /// <summary>Binds <paramref name="section"/> as <c>BindConfiguration</c> does, refusing unknown keys at bind time.</summary>
    /// <param name="entryName">See <see cref="StrictSection.EntryName"/>.</param>
    [RequiresUnreferencedCode("Binds by reflection; a trimmed or ahead-of-time compiled host binds its concrete options types and calls NameUnknownKeys.")]
    [RequiresDynamicCode("Binds by reflection; a trimmed or ahead-of-time compiled host binds its concrete options types and calls NameUnknownKeys.")]
    public static OptionsBuilder<TOptions> BindStrictly<TOptions>(this OptionsBuilder<TOptions> builder, string section, Func<IConfigurationSection, Type, string>? entryName = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindConfiguration(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder.NameUnknownKeys(section, entryName);
    }

    /// <summary>
    /// Registers <paramref name="section"/> as strict without binding it, for a caller that binds it itself with
    /// <see cref="BinderOptions.ErrorOnUnknownConfiguration"/>: the configuration binding generator intercepts only
    /// calls on a concrete options type, not the generic one in <see cref="BindStrictly{TOptions}"/>.
    /// </summary>
    public static OptionsBuilder<TOptions> NameUnknownKeys<TOptions>(this OptionsBuilder<TOptions> builder, string section, Func<IConfigurationSection, Type, string>? entryName = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new StrictSection(section, typeof(TOptions), entryName));
        return builder;
    }

    /// <summary>The unknown keys of every strict section registered in <paramref name="services"/>.</summary>
    public static List<UnknownKey> FindAll(IServiceProvider services)
    {
        IConfiguration configuration = services.GetRequiredService<IConfiguration>();
        return [.. services.GetServices<StrictSection>().SelectMany(s => Find(configuration.GetSection(s.Path), s.OptionsType, s.Path + ":", s.EntryName))];
    }

    /// <summary>
    /// Keys below <paramref name="section"/> that bind to no property of <paramref name="type"/>, with
    /// <paramref name="prefix"/> before the first level. Lists and dictionaries are entered entry by entry;
    /// <paramref name="entryName"/> may name a list entry better than its index (e.g. by its id).
    /// </summary>
    public static IEnumerable<UnknownKey> Find(IConfiguration section, Type type, string prefix, Func<IConfigurationSection, Type, string>? entryName = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(type);
        var found = new List<UnknownKey>();
        Walk(section, type, prefix, entryName ?? ((s, _) => s.Key), found);
        return found;
    }

    /// <summary>The keys an options type takes, as the binder reads them.</summary>
    public static IEnumerable<string> KnownKeys(Type type) => Properties(type).Select(p => p.Key);

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    [UnconditionalSuppressMessage("Trimming", "IL2062", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    private static void Walk(IConfiguration section, Type type, string prefix, Func<IConfigurationSection, Type, string> entryName, List<UnknownKey> found)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(object) || typeof(IConfiguration).IsAssignableFrom(type))
        {
            // Takes any shape.
            return;
        }

        if (IsValue(type))
        {
            found.AddRange(section.GetChildren().Select(c => new UnknownKey(prefix + c.Key, type)));
            return;
        }

        if (DictionaryValue(type) is { } value)
        {
            foreach (IConfigurationSection entry in section.GetChildren())
            {
                Walk(entry, value, $"{prefix}{entry.Key}:", entryName, found);
            }

            return;
        }

        if (CollectionItem(type) is { } item)
        {
            foreach (IConfigurationSection entry in section.GetChildren())
            {
                Walk(entry, item, $"{prefix}{entryName(entry, item)}:", entryName, found);
            }

            return;
        }

        var properties = Properties(type).ToDictionary(p => p.Key, p => p.Property.PropertyType, StringComparer.OrdinalIgnoreCase);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (properties.TryGetValue(child.Key, out Type? propertyType))
            {
                Walk(child, propertyType, $"{prefix}{child.Key}:", entryName, found);
            }
            else
            {
                found.Add(new UnknownKey(prefix + child.Key, type));
            }
        }
    }

    /// <summary>
    /// The properties the binder can fill, under the key it uses ([ConfigurationKeyName] or the name): settable
    /// ones, and get-only objects and collections, which it fills in place. A computed value binds to nothing.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    private static IEnumerable<(string Key, PropertyInfo Property)> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is { IsPublic: true })
            .Where(p => p.SetMethod is { IsPublic: true } || !IsValue(Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType))
            .Select(p => (p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name, p));

    /// <summary>Bound from one string, as the binder does for types with a string converter.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(Uri)
        || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    private static Type? DictionaryValue(Type type) =>
        GenericInterface(type, typeof(IDictionary<,>), typeof(IReadOnlyDictionary<,>))?.GetGenericArguments()[1];

    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    private static Type? CollectionItem(Type type) =>
        type.IsArray ? type.GetElementType() : GenericInterface(type, typeof(IEnumerable<>))?.GetGenericArguments()[0];

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Walks options types, which a trimmed node roots whole (linux-arm64.pubxml); converters are the framework's intrinsic ones.")]
    private static Type? GenericInterface(Type type, params Type[] definitions)
    {
        if (type.IsGenericType && definitions.Contains(type.GetGenericTypeDefinition()))
        {
            return type;
        }

        return type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && definitions.Contains(i.GetGenericTypeDefinition()));
    }
}
