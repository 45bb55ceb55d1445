# Synchronization Rules Editor export (test data written for idsync, in the
# form the editor's Export button produces).

$rule = New-ADSyncRule  `
-Name 'In from AD - User AccountEnabled' `
-Identifier '0a1f95e3-265a-44fc-ad7c-80e267b05c06' `
-Description '' `
-Direction 'Inbound' `
-Precedence 102 `
-PrecedenceAfter '00000000-0000-0000-0000-000000000000' `
-PrecedenceBefore '00000000-0000-0000-0000-000000000000' `
-SourceObjectType 'user' `
-TargetObjectType 'person' `
-Connector 'ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d' `
-LinkType 'Join' `
-SoftDeleteExpiryInterval 0 `
-ImmutableTag 'Microsoft.InfromADUserAccountEnabled.004' `
-EnablePasswordSync

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('True') `
-Destination 'accountEnabled' `
-FlowType 'Constant' `
-ValueMergeType 'Update'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('cn') `
-Destination 'cn' `
-FlowType 'Direct' `
-ValueMergeType 'Update'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Destination 'contributingConnectorUser' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '%Connector.ID%'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Destination 'domainFQDN' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '%Domain.FQDN%'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Destination 'domainNetBios' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '%Domain.Netbios%'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Destination 'forestFQDN' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '%Forest.FQDN%'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Destination 'forestNetBios' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression '%Forest.Netbios%'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('objectSid') `
-Destination 'objectSid' `
-FlowType 'Direct' `
-ValueMergeType 'Update'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('objectSid') `
-Destination 'objectSidString' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'StringFromSid([objectSid])'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('pwdLastSet') `
-Destination 'pwdLastSet' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsPresent([pwdLastSet]),CStr(FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")),NULL)'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('objectGUID') `
-Destination 'sourceAnchor' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsPresent([msExchRecipientTypeDetails]),IIF([msExchRecipientTypeDetails]=2,NULL,IIF(IsString([objectGUID]),CStr([objectGUID]),ConvertToBase64([objectGUID]))),IIF(IsString([objectGUID]),CStr([objectGUID]),ConvertToBase64([objectGUID])))'

Add-ADSyncAttributeFlowMapping  `
-SynchronizationRule $rule `
-Source @('sAMAccountName','userPrincipalName') `
-Destination 'userPrincipalName' `
-FlowType 'Expression' `
-ValueMergeType 'Update' `
-Expression 'IIF(IsPresent([userPrincipalName]),[userPrincipalName], IIF(IsPresent([sAMAccountName]),([sAMAccountName]&"@"&%Domain.FQDN%),Error("AccountName is not present")))'

New-Object  `
-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `
-ArgumentList 'userAccountControl','2','ISBITNOTSET' `
-OutVariable condition0

Add-ADSyncScopeConditionGroup  `
-SynchronizationRule $rule `
-ScopeConditions @($condition0[0])

$rule | Add-ADSyncRule

Get-ADSyncRule  `
-Identifier '0a1f95e3-265a-44fc-ad7c-80e267b05c06'

