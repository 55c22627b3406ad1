using Microsoft.Extensions.Options;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Storage.Group;
using SensorKit.Protocol;

namespace SensorKit.Gateway;

/// <summary>Group:*, checked against what a group needs of the broker and the state store: part of the composition, as it spans both.</summary>
public sealed class GroupOptionsValidator(IOptions<StateOptions> state, IOptions<BrokerOptions> broker) : IValidateOptions<GroupOptions>
{
    public ValidateOptionsResult Validate(string? name, GroupOptions o)
    {
        const string s = GroupOptions.Section;
        var errors = new List<string>();
        if (o.Member is null)
        {
            if (o.Sites.Count > 0)
            {
                errors.Add($"{s}:Sites: only a group member serves a list of sites; set {s}:Member too");
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }

        if (!Topics.IsValidLevel(o.Member))
        {
            errors.Add($"{s}:Member: '{o.Member}' must be 1-64 letters, digits, '-' or '_'");
        }

        if (o.Sites.Count == 0 || o.Sites.Count > GroupOptions.MaxSites)
        {
            errors.Add($"{s}:Sites: a group member needs 1 to {GroupOptions.MaxSites} sites, not {o.Sites.Count}");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Sites.Count; i++)
        {
            if (!Topics.IsValidLevel(o.Sites[i]))
            {
                errors.Add($"{s}:Sites:{i}: '{o.Sites[i]}' is not a site name (1-64 letters, digits, '-' or '_')");
            }
            else if (!seen.Add(o.Sites[i]))
            {
                errors.Add($"{s}:Sites:{i}: '{o.Sites[i]}' is listed twice");
            }
        }

        if (o.LeaseTime < TimeSpan.FromSeconds(1) || o.LeaseTime > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{s}:LeaseTime: {o.LeaseTime} must be between 1 second and 10 minutes");
        }

        if (o.RenewInterval <= TimeSpan.Zero || o.RenewInterval * 2 > o.LeaseTime)
        {
            errors.Add($"{s}:RenewInterval: {o.RenewInterval} must be positive and at most half of {s}:LeaseTime ({o.LeaseTime}), so one late renewal does not lose the sites");
        }

        if (broker.Value.Mode != BrokerMode.External)
        {
            errors.Add($"{s}:Member: a gateway group shares one external broker; set Broker:Mode External and Broker:Uri");
        }

        if (state.Value.Provider != StateProvider.PostgreSql)
        {
            errors.Add($"{s}:Member: a gateway group keeps its leases and state in PostgreSQL; set State:Provider PostgreSql and State:ConnectionString");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
