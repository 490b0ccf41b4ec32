namespace Gatehouse.Server.Platform.Composition;

/// <summary>
/// Marks a type as part of its feature's public surface: the only types another feature may use
/// (a small named service, or declared values such as audit actions). The architecture tests
/// hold every other type of a feature to its own folder.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Interface | AttributeTargets.Struct, Inherited = false)]
public sealed class FeatureApiAttribute : Attribute;
